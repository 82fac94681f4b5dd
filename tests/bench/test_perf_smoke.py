"""Smoke run of the performance benchmark: the history scenario, then a tiny throughput run on both sides."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.perf.history import run_history
from bench.perf.report import ROW_KEYS
from bench.perf.throughput import run_throughput
from carbuy.contract.order import FinancingPlan

pytestmark = pytest.mark.e2e


async def test_histories_per_plan_and_a_tiny_throughput_run_measure_both_sides_with_the_same_k(
    tmp_path: Path,
) -> None:
    opts = SimpleNamespace(
        n=2,
        concurrency=2,
        plan=FinancingPlan.LOAN_BATTERY.value,
        warmup=0,
        sequential=1,
        poll_s=0.5,
        timeout=120.0,
        workdir=str(tmp_path),
        profile_worker=None,
        bare_from=None,
    )
    history = await run_history(opts, lambda _: None)

    plans = history["plans"]
    assert set(plans) == {plan.value for plan in FinancingPlan}
    for stats in plans.values():
        activities = stats["activities"]
        assert activities["total"] == activities["remote"] + activities["local"] > 0
        assert activities["local"] >= 8  # the notifications and the outcome record
        assert stats["events"] == sum(stats["event_types"].values())
        assert stats["event_types"]["workflow_execution_completed"] == 1
        assert stats["proto_bytes"] > 0
    longest = plans[FinancingPlan.LOAN_BATTERY.value]["activities"]["total"]
    assert longest == max(stats["activities"]["total"] for stats in plans.values())

    result = await run_throughput(opts, lambda _: None, plans)

    k = plans[FinancingPlan.LOAN_BATTERY.value]["activities"]["total"]
    carbuy, bare = result["carbuy"], result["bare"]
    assert result["k"] == carbuy["activities_per_purchase"] == bare["activities_per_workflow"] == k
    assert bare["history"]["event_types"]["activity_task_scheduled"] == k
    assert not result["failed"] and carbuy["failures"] == []
    calls = carbuy["api_calls"]
    assert carbuy["completed"] == 2 and calls["actions"] - calls["refused_actions"] == 2 * 5  # the order, 4 steps
    assert calls["sms_reads"] >= 2 * 3 and calls["status_reads"] >= 2  # acted on SMS, read the end once or more
    for side in (carbuy, bare):
        assert side["cpu_ms_per_activity"]["worker"] > 0 and side["cpu_ms_per_activity"]["server"] > 0
    rows = {row["metric"]: row for row in result["rows"]}
    assert all(set(row) == set(ROW_KEYS) for row in result["rows"])
    worker = rows["worker CPU ms per activity"]
    assert worker["ratio"] == pytest.approx(worker["carbuy"] / worker["bare"])
    assert worker["met"] is (worker["ratio"] <= 1.3)
