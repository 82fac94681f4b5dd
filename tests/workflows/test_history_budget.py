"""A guard against history growth: every plan's happy purchase stays within its event and byte budget.

It counts events, not time: an extra activity, timer, upsert or marker on the happy path shows here in CI, and a
workflow task that nothing woke; how many wake-ups share a task depends on timing and is left to the benchmark.
"""

from __future__ import annotations

from collections import Counter

import pytest
from temporalio.api.history.v1 import History
from temporalio.client import Client

from carbuy.contract.activities import Activity
from carbuy.contract.budget import HISTORY_BYTES_BUDGET, HISTORY_EVENT_BUDGET, LONGEST_PLAN_EVENT_GOAL
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseState
from tests.factories import purchase_input
from tests.workflows.driver import buy_until_handover, purchase_worker, start
from tests.workflows.fakes import FakePartners


def test_every_budget_is_within_the_goal_for_the_longest_plan() -> None:
    assert set(HISTORY_EVENT_BUDGET) == set(FinancingPlan)
    assert max(HISTORY_EVENT_BUDGET.values()) <= LONGEST_PLAN_EVENT_GOAL


@pytest.mark.parametrize("plan", list(FinancingPlan))
async def test_a_completed_purchase_stays_within_its_history_budget(ts_client: Client, plan: FinancingPlan) -> None:
    input = purchase_input(plan)
    async with purchase_worker(ts_client, FakePartners(ts_client)) as queue:
        handle = await start(ts_client, queue, input)
        await buy_until_handover(handle, input)
        result = await handle.result()
    history = await handle.fetch_history()

    assert result.state == PurchaseState.COMPLETED
    kinds = Counter((e.WhichOneof("attributes") or "?").removesuffix("_event_attributes") for e in history.events)
    breakdown = ", ".join(f"{kind} {n}" for kind, n in kinds.most_common())
    tasks = sum(kinds[f"workflow_task_{step}"] for step in ("scheduled", "started", "completed"))
    assert len(history.events) - tasks <= HISTORY_EVENT_BUDGET[plan], f"{len(history.events)} events: {breakdown}"
    wakes = sum(
        kinds[k]
        for k in (
            "workflow_execution_started",
            "activity_task_completed",
            "activity_task_failed",
            "activity_task_timed_out",
            "timer_fired",
            "workflow_execution_signaled",
            "workflow_execution_update_accepted",
        )
    )
    assert kinds["workflow_task_completed"] <= wakes, breakdown  # a task only when something woke the purchase
    assert History(events=history.events).ByteSize() <= HISTORY_BYTES_BUDGET
    # notifications and the outcome record are local activities (markers), never activity tasks
    scheduled = {
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    assert not scheduled & {Activity.SEND_NOTIFICATION.value, Activity.RECORD_PURCHASE_OUTCOME.value}, scheduled
    assert kinds["marker_recorded"] >= 8  # the patch marker and at least seven notifications and the outcome
