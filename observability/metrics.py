"""carbuy's process-side Prometheus metrics (prometheus-client, default registry) and the helpers that record them.

Labels take bounded values only (institutions, outcomes, kinds, route templates): never an order id, a name or
any other customer datum. Workflow-side metrics (stages, purchases ended, compensations, SLA breaches) are in
workflows/metrics.py and leave the worker through the Temporal SDK's own exporter.
"""

from __future__ import annotations

import logging

import prometheus_client
from prometheus_client import Counter, Gauge, Histogram

log = logging.getLogger("carbuy.metrics")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: an HTTP call to a partner or Stripe, or an API request (the API waits for updates up to a minute)."""

ORDERS_PLACED = Counter("carbuy_orders_placed", "Orders that started a new purchase", ["plan"])
ORDERS_REFUSED = Counter("carbuy_orders_refused", "Orders refused by the API, by reason", ["reason"])
HTTP_REQUESTS = Counter("carbuy_http_requests", "HTTP requests served", ["app", "method", "route", "status"])
HTTP_DURATION = Histogram(
    "carbuy_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["app", "method", "route"],
    buckets=LATENCY_BUCKETS,
)
SANDBOX_REQUESTS = Counter(
    "carbuy_sandbox_requests", "Requests the partner sandbox answered", ["institution", "outcome"]
)
PARTNER_CALLS = Counter(
    "carbuy_partner_calls", "HTTP calls to partners and Stripe, by outcome", ["institution", "outcome"]
)
PARTNER_DURATION = Histogram(
    "carbuy_partner_call_duration_seconds",
    "Duration of HTTP calls to partners and Stripe",
    ["institution", "outcome"],
    buckets=LATENCY_BUCKETS,
)
MONEY_CHARGED = Counter("carbuy_money_charged_fen", "Money charged to customers, in fen", ["kind"])
MONEY_REFUNDED = Counter("carbuy_money_refunded_fen", "Money refunded to customers, in fen", ["kind"])
RECONCILIATION_DISCREPANCIES = Gauge(
    "carbuy_reconciliation_discrepancies", "Discrepancies found by the last reconciliation, by type", ["type"]
)

CHARGE_KINDS = frozenset({"deposit", "balance"})
REFUND_KINDS = frozenset({"refund_deposit", "refund_balance"})

ERROR_OUTCOMES = ("server_error", "timeout", "connection_error", "throttled")
"""Outcomes that say a partner is unwell (the partner error-rate alert counts these)."""


def outcome_of_status(status: int) -> str:
    """The outcome of an HTTP answer: ok, declined (402), conflict (409), refused (422), throttled, rejected, ..."""
    if status < 400:
        return "ok"
    if status >= 500:
        return "server_error"
    return {402: "declined", 409: "conflict", 422: "refused", 408: "throttled", 425: "throttled", 429: "throttled"}.get(
        status, "rejected"
    )


def order_placed(plan: str) -> None:
    """A new purchase was started for an order."""
    ORDERS_PLACED.labels(plan=plan).inc()


def order_refused(reason: str) -> None:
    """The API refused an order (reason: invalid_order, order_id_reused, temporal_unavailable, unauthorized)."""
    ORDERS_REFUSED.labels(reason=reason).inc()


def http_request(app: str, method: str, route: str, status: int, seconds: float) -> None:
    """One HTTP request served, labelled by its route template (never the raw path)."""
    HTTP_REQUESTS.labels(app=app, method=method, route=route, status=str(status)).inc()
    HTTP_DURATION.labels(app=app, method=method, route=route).observe(seconds)


def sandbox_request(institution: str, status: int) -> None:
    """One request the sandbox answered for an institution."""
    SANDBOX_REQUESTS.labels(institution=institution, outcome=outcome_of_status(status)).inc()


def partner_call(institution: str, outcome: str, seconds: float) -> None:
    """One HTTP call to a partner (or Stripe) and how it went."""
    PARTNER_CALLS.labels(institution=institution, outcome=outcome).inc()
    PARTNER_DURATION.labels(institution=institution, outcome=outcome).observe(seconds)


def money_moved(kind: str, amount_fen: int) -> None:
    """Money that moved: a charge (kind deposit, balance) or a refund (kind refund_deposit, refund_balance, ...)."""
    if kind.startswith("refund"):
        MONEY_REFUNDED.labels(kind=kind if kind in REFUND_KINDS else "refund_other").inc(amount_fen)
    else:
        MONEY_CHARGED.labels(kind=kind if kind in CHARGE_KINDS else "other").inc(amount_fen)


def reconciliation_discrepancies(counts: dict[str, int]) -> None:
    """The discrepancies the last reconciliation found, by type; types it no longer reports go back to 0."""
    reported = {s.labels["type"] for family in RECONCILIATION_DISCREPANCIES.collect() for s in family.samples}
    for kind in reported - counts.keys():
        RECONCILIATION_DISCREPANCIES.labels(type=kind).set(0)
    for kind, count in counts.items():
        RECONCILIATION_DISCREPANCIES.labels(type=kind).set(count)


def serve_metrics(host: str, port: int | None) -> int | None:
    """Serve the default registry on host:port/metrics (not when port is None or 0); the port, or None if not served.

    A busy port is logged and skipped: a process without metrics is better than a process that does not start.
    """
    if not port:
        return None
    try:
        prometheus_client.start_http_server(port, addr=host)
    except OSError as err:
        log.error("metrics not served on %s:%s: %s", host, port, err)
        return None
    log.info("metrics on http://%s:%s/metrics", host, port)
    return port
