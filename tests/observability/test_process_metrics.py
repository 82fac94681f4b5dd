"""Process-side metrics: bounded labels, partner and Stripe calls counted by outcome, metrics ports that never crash."""

from __future__ import annotations

import socket

import httpx
import pytest
import stripe
from fastapi import FastAPI
from prometheus_client import REGISTRY
from temporalio.testing import ActivityEnvironment

from activities.battery import BatteryActivities
from activities.stripe_gateway import StripeGateway
from carbuy.devtools.processes import free_port
from carbuy.runtime.settings import MetricsSettings, PartnerSettings, Settings, StripeSettings
from observability import metrics
from observability.asgi import RequestMetrics
from observability.sdk import sdk_runtime
from tests.activities.test_partner_http import contract_input
from tests.fixtures.sandbox import SandboxControl


def sample(name: str, **labels: str) -> float:
    """A sample's current value in this process's registry (0 when it does not exist yet)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def all_label_values() -> set[str]:
    """Every label value of every carbuy sample in the registry."""
    return {
        value
        for family in REGISTRY.collect()
        if family.name.startswith("carbuy_")
        for s in family.samples
        for value in s.labels.values()
    }


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "ok"),
        (201, "ok"),
        (402, "declined"),
        (409, "conflict"),
        (422, "refused"),
        (429, "throttled"),
        (408, "throttled"),
        (400, "rejected"),
        (404, "rejected"),
        (500, "server_error"),
        (503, "server_error"),
    ],
)
def test_an_http_status_maps_to_one_outcome(status: int, outcome: str) -> None:
    assert metrics.outcome_of_status(status) == outcome


def test_money_is_counted_in_fen_by_kind_and_a_free_text_refund_reason_never_becomes_a_label() -> None:
    before = {k: sample("carbuy_money_charged_fen_total", kind=k) for k in ("deposit", "balance", "other")}
    refunded_before = {k: sample("carbuy_money_refunded_fen_total", kind=k) for k in ("refund_deposit", "refund_other")}

    metrics.money_moved("deposit", 10_000)
    metrics.money_moved("balance", 3_454_537)
    metrics.money_moved("surprise", 1)
    metrics.money_moved("refund_deposit", 10_000)
    metrics.money_moved("refund because Li Lei 13800138000 asked", 500)

    assert sample("carbuy_money_charged_fen_total", kind="deposit") - before["deposit"] == 10_000
    assert sample("carbuy_money_charged_fen_total", kind="balance") - before["balance"] == 3_454_537
    assert sample("carbuy_money_charged_fen_total", kind="other") - before["other"] == 1
    refunded = {k: sample("carbuy_money_refunded_fen_total", kind=k) - v for k, v in refunded_before.items()}
    assert refunded == {"refund_deposit": 10_000, "refund_other": 500}
    assert not any("Li Lei" in value or "13800138000" in value for value in all_label_values())


def test_the_reconciliation_gauge_holds_the_last_counts_and_zeroes_types_no_longer_found() -> None:
    metrics.reconciliation_discrepancies({"amount_mismatch": 2, "duplicate_charge": 1})
    metrics.reconciliation_discrepancies({"amount_mismatch": 3})

    assert sample("carbuy_reconciliation_discrepancies", type="amount_mismatch") == 3
    assert sample("carbuy_reconciliation_discrepancies", type="duplicate_charge") == 0


async def test_requests_are_labelled_by_route_template_never_by_the_raw_path() -> None:
    app = FastAPI()
    app.add_middleware(RequestMetrics, app_name="probe")

    @app.get("/purchases/{order_id}")
    async def status(order_id: str) -> dict[str, str]:
        return {"order_id": order_id}

    route = {"app": "probe", "method": "GET", "route": "/purchases/{order_id}", "status": "200"}
    unmatched = {**route, "route": "unmatched", "status": "404"}
    before = sample("carbuy_http_requests_total", **route), sample("carbuy_http_requests_total", **unmatched)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as http:
        assert (await http.get("/purchases/ORD-7f3a")).status_code == 200
        assert (await http.get("/elsewhere/ORD-7f3a")).status_code == 404

    assert sample("carbuy_http_requests_total", **route) - before[0] == 1
    assert sample("carbuy_http_requests_total", **unmatched) - before[1] == 1
    assert (
        sample("carbuy_http_request_duration_seconds_count", app="probe", method="GET", route="/purchases/{order_id}")
        >= 1
    )
    assert not any("ORD-7f3a" in value for value in all_label_values())


async def test_partner_calls_are_counted_by_institution_and_outcome(
    sandbox_settings: Settings, sandbox: SandboxControl
) -> None:
    def calls(outcome: str) -> float:
        return sample("carbuy_partner_calls_total", institution="battery", outcome=outcome)

    before = {o: calls(o) for o in ("ok", "server_error", "connection_error")}
    battery = BatteryActivities.from_settings(sandbox_settings)
    await sandbox.fail_next("battery", times=1, status_code=503)
    try:
        with pytest.raises(httpx.HTTPStatusError):
            await ActivityEnvironment().run(battery.create_battery_contract, contract_input(sandbox.new_order_ref()))
        await ActivityEnvironment().run(battery.create_battery_contract, contract_input(sandbox.new_order_ref()))
    finally:
        await battery.aclose()
    nowhere = BatteryActivities.from_settings(
        Settings(partners=PartnerSettings(base_url=f"http://127.0.0.1:{free_port()}", timeout_s=2.0))
    )
    try:
        with pytest.raises(httpx.ConnectError):
            await ActivityEnvironment().run(nowhere.create_battery_contract, contract_input(sandbox.new_order_ref()))
    finally:
        await nowhere.aclose()

    assert calls("server_error") - before["server_error"] == 1
    assert calls("ok") - before["ok"] == 1
    assert calls("connection_error") - before["connection_error"] == 1
    assert sample("carbuy_partner_call_duration_seconds_count", institution="battery", outcome="ok") >= 1


async def test_stripe_calls_are_counted_under_institution_stripe(stripe_settings: StripeSettings) -> None:
    def calls(outcome: str) -> float:
        return sample("carbuy_partner_calls_total", institution="stripe", outcome=outcome)

    before = calls("ok"), calls("rejected")
    gateway = StripeGateway(stripe_settings)
    try:
        await gateway.create_customer(order_ref="ORD-metrics", key="ORD-metrics:customer")
        with pytest.raises(stripe.InvalidRequestError):
            await gateway.retrieve_payment_intent("pi_does_not_exist")
    finally:
        await gateway.aclose()

    assert calls("ok") - before[0] == 1
    assert calls("rejected") - before[1] == 1


def test_a_busy_or_disabled_metrics_port_is_skipped_and_a_free_one_serves_metrics() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        assert metrics.serve_metrics("127.0.0.1", taken) is None
        assert sdk_runtime(MetricsSettings(worker_sdk_port=taken)) is None
    assert metrics.serve_metrics("127.0.0.1", None) is None
    assert metrics.serve_metrics("127.0.0.1", 0) is None
    assert sdk_runtime(MetricsSettings()) is None

    port = free_port()
    assert metrics.serve_metrics("127.0.0.1", port) == port
    served = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "carbuy_partner_calls_total" in served or "# HELP carbuy_orders_placed_total" in served
