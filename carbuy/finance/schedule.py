"""The Temporal Schedule that runs the reconciliation: daily at 02:00 Asia/Shanghai, every minute in the dev stack.

Creating it again updates it in place (same id), so `carbuy finance schedule` is safe to run on every deploy.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from carbuy.contract.finance import RECONCILIATION_WORKFLOW, SCHEDULE_ID, ReconcileInput
from carbuy.runtime.settings import FinanceSettings, Settings
from carbuy.runtime.temporal import connect

DEV_EVERY_S = 60
"""The dev stack reconciles today's purchases every minute, so a demo purchase shows up in a report."""


def reconciliation_schedule(settings: Settings) -> Schedule:
    """The schedule the settings describe: a cron in the schedule's time zone, or a fixed interval."""
    finance = settings.finance
    if finance.schedule_every_s:
        spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=finance.schedule_every_s))])
    else:
        spec = ScheduleSpec(cron_expressions=[finance.schedule_cron], time_zone_name=finance.schedule_timezone)
    action = ScheduleActionStartWorkflow(
        RECONCILIATION_WORKFLOW,
        ReconcileInput(relative=finance.schedule_day, timeout_s=finance.activity_timeout_s),
        id=SCHEDULE_ID,
        task_queue=settings.temporal.task_queue,
    )
    # A run still going when the next is due makes the next wait for nothing: skip it.
    return Schedule(
        action=action,
        spec=spec,
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=timedelta(hours=12)),
    )


async def ensure_schedule(client: Client, settings: Settings) -> Literal["created", "updated"]:
    """Create the reconciliation schedule, or bring an existing one up to the settings."""
    schedule = reconciliation_schedule(settings)
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
        return "created"
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(SCHEDULE_ID).update(replace)
        return "updated"


def dev_settings(settings: Settings) -> Settings:
    """The dev stack's schedule: today's purchases, every minute (or the interval set in the settings)."""
    finance: FinanceSettings = settings.finance.model_copy(
        update={"schedule_every_s": settings.finance.schedule_every_s or DEV_EVERY_S, "schedule_day": "today"}
    )
    return settings.model_copy(update={"finance": finance})


async def start_dev_schedule(settings: Settings, api_url: str) -> str:
    """Create (or update) the dev stack's reconciliation schedule; a line that says where the reports are."""
    dev = dev_settings(settings)
    await ensure_schedule(await connect(dev), dev)
    return (
        f"reconciliation: today's money every {dev.finance.schedule_every_s}s (schedule {SCHEDULE_ID}); "
        f"reports: `carbuy finance report --day …` or {api_url}/finance/reports"
    )
