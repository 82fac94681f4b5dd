"""The Temporal SDK runtime of the worker, exporting its own and the workflows' metrics to Prometheus.

The SDK serves its metrics itself (`temporal_*`: task slots, schedule-to-start latency, sticky cache, polls,
workflow task failures; and the `carbuy_*` metrics workflows record through workflow.metric_meter()) on its own
port, beside the worker's prometheus-client port: Prometheus scrapes both.
"""

from __future__ import annotations

import logging

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from carbuy.runtime.settings import MetricsSettings

log = logging.getLogger("carbuy.metrics")

DAY_S = 86_400.0
STAGE_BUCKETS_S = (
    1.0,
    5.0,
    15.0,
    60.0,
    300.0,
    900.0,
    3_600.0,
    4 * 3_600.0,
    12 * 3_600.0,
    DAY_S,
    3 * DAY_S,
    7 * DAY_S,
    14 * DAY_S,
    30 * DAY_S,
    60 * DAY_S,
    120 * DAY_S,
)
"""A stage lasts seconds in the dev stack and up to months in production (the first-service wait)."""

HISTOGRAM_BUCKETS = {"carbuy_stage_duration_seconds": STAGE_BUCKETS_S}


def sdk_runtime(settings: MetricsSettings) -> Runtime | None:
    """A runtime serving SDK and workflow metrics on settings.worker_sdk_port; None (the default runtime) if off.

    Counters get the `_total` suffix and durations are seconds, as prometheus-client exports them. A busy port
    is logged and the worker runs without SDK metrics.
    """
    if not settings.worker_sdk_port:
        return None
    address = f"{settings.host}:{settings.worker_sdk_port}"
    config = PrometheusConfig(
        bind_address=address,
        counters_total_suffix=True,
        durations_as_seconds=True,
        histogram_bucket_overrides=HISTOGRAM_BUCKETS,
    )
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=config))
    except ValueError as err:
        log.error("Temporal SDK metrics not served on %s: %s", address, err)
        return None
    log.info("Temporal SDK metrics on http://%s/metrics", address)
    return runtime
