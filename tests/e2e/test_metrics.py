"""A real Prometheus scrapes the running stack and finds the metrics of a purchase the test just ran."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage
from carbuy.devtools.demo import DemoCustomer, demo_order
from carbuy.devtools.processes import free_port
from tests.e2e.conftest import Stack
from tests.eventually import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def prometheus(stack: Stack) -> str:
    """Prometheus scraping every metrics port of the session's stack each second (stopped with the stack)."""
    return stack.dev.start_prometheus(free_port(), scrape_interval_s=1.0)


async def query(prometheus: str, promql: str) -> list[dict[str, object]]:
    """The instant vector Prometheus answers for a query."""
    async with httpx.AsyncClient(timeout=10) as http:
        answer = (await http.get(f"{prometheus}/api/v1/query", params={"query": promql})).json()
    assert answer["status"] == "success", answer
    result: list[dict[str, object]] = answer["data"]["result"]
    return result


async def value_when(prometheus: str, promql: str, ready: Callable[[float], bool], timeout_s: float = 30.0) -> float:
    """The query's single value once ready(value) holds; fails with the last value after timeout_s."""

    async def value() -> float:
        result = await query(prometheus, promql)
        assert result, f"{promql}: no value"
        last = float(result[0]["value"][1])  # type: ignore[index]
        assert ready(last), f"{promql}: {last}"
        return last

    return await eventually(value, timeout=timeout_s, interval=0.5)


async def test_prometheus_finds_the_orders_money_partner_calls_and_sdk_metrics_of_a_purchase(
    stack: Stack, prometheus: str, api: httpx.AsyncClient
) -> None:
    customer = DemoCustomer(stack.settings, stack.api_url, lambda _: None)
    try:
        order_id = await customer.place(demo_order(FinancingPlan.LOAN))
        final = await customer.buy(order_id, timeout_s=180)
    finally:
        await customer.aclose()
    refused = await api.post("/orders", json={**demo_order(FinancingPlan.LOAN), "price_fen": -1})
    assert final.stage == PurchaseStage.COMPLETED and refused.status_code == 422

    assert (
        await value_when(prometheus, 'sum(carbuy_orders_placed_total{job="carbuy-api", plan="loan"})', lambda v: v >= 1)
        >= 1
    )
    assert (
        await value_when(
            prometheus, 'sum(carbuy_orders_refused_total{job="carbuy-api", reason="invalid_order"})', lambda v: v >= 1
        )
        >= 1
    )
    assert (
        await value_when(
            prometheus,
            'sum(carbuy_money_charged_fen_total{job="carbuy-worker", kind="deposit"})',
            lambda v: v >= 10_000,
        )
        >= 10_000
    )
    balance = final.amounts.balance_due
    assert (
        await value_when(
            prometheus,
            'sum(carbuy_money_charged_fen_total{job="carbuy-worker", kind="balance"})',
            lambda v: v >= balance,
        )
        >= balance
    )
    assert (
        await value_when(
            prometheus,
            'sum(carbuy_partner_calls_total{job="carbuy-worker", institution="lender", outcome="ok"})',
            lambda v: v >= 2,
        )
        >= 2
    )
    assert (
        await value_when(
            prometheus,
            'sum(carbuy_partner_calls_total{job="carbuy-worker", institution="stripe", outcome="ok"})',
            lambda v: v >= 1,
        )
        >= 1
    )
    assert (
        await value_when(
            prometheus, 'sum(carbuy_partner_call_duration_seconds_count{institution="lender"})', lambda v: v >= 2
        )
        >= 2
    )
    assert (
        await value_when(
            prometheus,
            'sum(carbuy_sandbox_requests_total{job="carbuy-sandbox", institution="lender"})',
            lambda v: v >= 2,
        )
        >= 2
    )
    assert (
        await value_when(
            prometheus,
            'sum(temporal_worker_task_slots_available{job="carbuy-worker-sdk", worker_type="WorkflowWorker"})',
            lambda v: v > 0,
        )
        > 0
    )
    assert (
        await value_when(
            prometheus,
            'sum(temporal_workflow_task_schedule_to_start_latency_count{job="carbuy-worker-sdk"})',
            lambda v: v >= 1,
        )
        >= 1
    )
    assert (
        await value_when(
            prometheus, 'sum(temporal_workflow_completed_total{job="carbuy-worker-sdk"})', lambda v: v >= 1
        )
        >= 1
    )
    # workflow-side metrics (workflow.metric_meter) come through the SDK runtime's exporter
    assert (
        await value_when(
            prometheus,
            'sum(carbuy_purchases_ended_total{job="carbuy-worker-sdk", state="completed"})',
            lambda v: v >= 1,
        )
        >= 1
    )
    assert (
        await value_when(
            prometheus,
            'sum(carbuy_stage_duration_seconds_count{job="carbuy-worker-sdk", stage="deposit"})',
            lambda v: v >= 1,
        )
        >= 1
    )


async def test_prometheus_scrapes_all_four_endpoints_and_loads_the_alert_rules(prometheus: str) -> None:
    assert await value_when(prometheus, 'count(up{job=~"carbuy-.+"} == 1)', lambda v: v == 4) == 4
    async with httpx.AsyncClient(timeout=10) as http:
        rules = (await http.get(f"{prometheus}/api/v1/rules")).json()["data"]["groups"]
    alerts = {rule["name"] for group in rules for rule in group["rules"]}
    assert {"CarbuyCompensationFailed", "CarbuyPartnerErrorRate", "CarbuyReconciliationDiscrepancies"} <= alerts
    assert len(alerts) == 8
