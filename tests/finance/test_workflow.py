"""ReconciliationWorkflow: which day it takes and how it retries (time-skipping server, fake activity), and the
real activity started by the Temporal Schedule on a dev server."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta

from sqlalchemy import Engine
from temporalio import activity
from temporalio.client import Client, ScheduleHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from carbuy.contract.finance import (
    RECONCILE_DAY_ACTIVITY,
    RECONCILIATION_WORKFLOW,
    SCHEDULE_ID,
    DiscrepancyType,
    ReconcileDayInput,
    ReconcileInput,
    ReconcileResult,
    day_to_reconcile,
)
from carbuy.finance.schedule import dev_settings, ensure_schedule
from carbuy.runtime.settings import Settings
from carbuy.store.db import session_scope
from carbuy.store.ledger import LedgerKind as K
from carbuy.store.reports import get_report
from tests.eventually import eventually
from tests.finance.money import DEPOSIT_FEN, Money
from workflows.reconciliation import ReconciliationWorkflow


class FakeReconciliation:
    """Answers as the real activity would, after failing `failures` times."""

    def __init__(self, failures: int = 0) -> None:
        self.days: list[date] = []
        self.failures = failures

    @activity.defn(name=RECONCILE_DAY_ACTIVITY)
    async def reconcile_day(self, input: ReconcileDayInput) -> ReconcileResult:
        self.days.append(input.day)
        if len(self.days) <= self.failures:
            raise RuntimeError("the lender's file is not there yet")
        return ReconcileResult(
            day=input.day, movements=7, discrepancies=1, by_type={DiscrepancyType.MISSING_IN_LEDGER: 1}
        )


@asynccontextmanager
async def reconciliation_worker(client: Client, *activities: object) -> AsyncIterator[str]:
    queue = f"finance-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ReconciliationWorkflow], activities=list(activities)):  # type: ignore[arg-type]
        yield queue


async def reconcile(client: Client, queue: str, input: ReconcileInput) -> ReconcileResult:
    result: ReconcileResult = await client.execute_workflow(
        RECONCILIATION_WORKFLOW,
        input,
        id=f"reconcile-test-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
        result_type=ReconcileResult,
    )
    return result


async def test_a_run_without_a_day_reconciles_yesterday_in_china(
    ts_client: Client, time_skipping_env: WorkflowEnvironment
) -> None:
    fake = FakeReconciliation()
    async with reconciliation_worker(ts_client, fake.reconcile_day) as queue:
        now = await time_skipping_env.get_current_time()
        result = await reconcile(ts_client, queue, ReconcileInput())

    assert fake.days == [day_to_reconcile(now, "yesterday")]
    assert (result.day, result.discrepancies, result.by_type) == (
        fake.days[0],
        1,
        {DiscrepancyType.MISSING_IN_LEDGER: 1},
    )


async def test_a_run_for_today_or_for_a_given_day_takes_that_day(
    ts_client: Client, time_skipping_env: WorkflowEnvironment
) -> None:
    fake = FakeReconciliation()
    async with reconciliation_worker(ts_client, fake.reconcile_day) as queue:
        now = await time_skipping_env.get_current_time()
        await reconcile(ts_client, queue, ReconcileInput(relative="today"))
        await reconcile(ts_client, queue, ReconcileInput(day=date(2026, 3, 14), relative="today"))

    assert fake.days == [day_to_reconcile(now, "today"), date(2026, 3, 14)]
    assert fake.days[0] - day_to_reconcile(now, "yesterday") == timedelta(days=1)


async def test_a_failing_reconciliation_is_retried_until_it_succeeds(ts_client: Client) -> None:
    fake = FakeReconciliation(failures=2)
    async with reconciliation_worker(ts_client, fake.reconcile_day) as queue:
        result = await reconcile(ts_client, queue, ReconcileInput(day=date(2026, 3, 14)))

    assert fake.days == [date(2026, 3, 14)] * 3
    assert result.discrepancies == 1


async def _first_run(handle: ScheduleHandle, timeout_s: float = 30) -> tuple[str, str]:
    """The workflow id and run id of the schedule's first action."""

    async def started() -> tuple[str, str]:
        recent = (await handle.describe()).info.recent_actions
        assert recent, "the schedule never started a run"
        action = recent[0].action
        return action.workflow_id, action.first_execution_run_id  # type: ignore[attr-defined]

    return await eventually(started, timeout=timeout_s, interval=0.2)


async def test_the_schedule_runs_the_real_reconciliation_and_stores_the_days_report(
    local_env: WorkflowEnvironment, settings: Settings, engine: Engine, money: Money, day: date
) -> None:
    from activities.reconciliation import ReconciliationActivities

    order = money.new_order()
    money.record(order, K.DEPOSIT_CHARGED, DEPOSIT_FEN, money.charge(order, "deposit", DEPOSIT_FEN))
    unrecorded = money.charge(order, "balance", 300_000)
    client = local_env.client
    activities = ReconciliationActivities(settings, engine)
    async with reconciliation_worker(client, activities.reconcile_day) as queue:
        scheduled = dev_settings(
            settings.model_copy(update={"temporal": settings.temporal.model_copy(update={"task_queue": queue})})
        )
        first, again = await ensure_schedule(client, scheduled), await ensure_schedule(client, scheduled)
        handle = client.get_schedule_handle(SCHEDULE_ID)
        try:
            await handle.trigger()
            workflow_id, run_id = await _first_run(handle)
            result = await client.get_workflow_handle(workflow_id, run_id=run_id, result_type=ReconcileResult).result()
            description = await handle.describe()
        finally:
            await handle.delete()

    assert (first, again) == ("created", "updated")
    assert description.schedule.spec.intervals[0].every == timedelta(seconds=60)
    assert workflow_id.startswith(SCHEDULE_ID)
    assert (result.day, result.discrepancies, result.by_type) == (day, 1, {DiscrepancyType.MISSING_IN_LEDGER: 1})
    with session_scope(engine) as session:
        stored = get_report(session=session, day=day)
    assert stored is not None and unrecorded in stored.html and unrecorded in stored.csv
