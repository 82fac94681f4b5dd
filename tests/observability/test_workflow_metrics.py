"""Workflow-side metrics leave the worker through the SDK runtime's Prometheus endpoint, as Prometheus sees them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from carbuy.devtools.processes import free_port
from carbuy.runtime.settings import MetricsSettings
from observability.sdk import sdk_runtime
from tests.observability.probe import MetricsProbe

ORDER_REF = "ORD-probe-5e1f"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
async def exported(time_skipping_env: WorkflowEnvironment) -> AsyncIterator[Samples]:
    """Run the probe workflow on a worker whose SDK runtime serves Prometheus metrics; every sample it serves."""
    port = free_port()
    runtime = sdk_runtime(MetricsSettings(worker_sdk_port=port))
    assert runtime is not None
    client = await Client.connect(time_skipping_env.client.service_client.config.target_host, runtime=runtime)
    task_queue = f"probe-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=task_queue, workflows=[MetricsProbe]):
        assert (
            await client.execute_workflow(
                MetricsProbe.run, ORDER_REF, id=f"probe-{ORDER_REF}-{task_queue}", task_queue=task_queue
            )
            == "done"
        )
        async with httpx.AsyncClient(timeout=10) as http:
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    assert ORDER_REF not in text
    yield {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("workflow_type") in (None, "MetricsProbe")
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The one sample with this name whose labels include these."""
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_purchases_ended_and_stage_entries_are_counters_with_a_total_suffix(exported: Samples) -> None:
    assert value(exported, "carbuy_purchases_ended_total", state="cancelled", plan="loan") == 1
    assert value(exported, "carbuy_purchases_started_total", plan="loan") == 1
    assert value(exported, "carbuy_stage_entered_total", stage="deposit") == 1


def test_time_in_stage_is_a_histogram_in_seconds_with_buckets_from_seconds_to_months(exported: Samples) -> None:
    assert value(exported, "carbuy_stage_duration_seconds_sum", stage="deposit") == 42.0
    assert value(exported, "carbuy_stage_duration_seconds_bucket", stage="deposit", le="15") == 0
    assert value(exported, "carbuy_stage_duration_seconds_bucket", stage="deposit", le="60") == 1
    assert value(exported, "carbuy_stage_duration_seconds_bucket", stage="deposit", le="10368000") == 1


def test_compensations_are_counted_by_kind_and_outcome_and_sla_breaches_by_stage(exported: Samples) -> None:
    assert value(exported, "carbuy_compensations_total", kind="refund_deposit", outcome="ok") == 1
    assert value(exported, "carbuy_compensations_total", kind="cancel_loan", outcome="failed") == 1
    assert value(exported, "carbuy_sla_breaches_total", stage="logistics") == 1


def test_the_sdk_runtime_metrics_are_served_beside_them(exported: Samples) -> None:
    names = {name for name, _ in exported}
    assert {
        "temporal_worker_task_slots_available",
        "temporal_workflow_task_schedule_to_start_latency_bucket",
        "temporal_sticky_cache_size",
        "temporal_workflow_completed_total",
    } <= names
