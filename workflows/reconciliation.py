"""ReconciliationWorkflow: one day of finance's reconciliation, started by its Temporal Schedule or on demand.

The work (reading the ledger, Stripe and the lender's file, rendering and storing the report) is one
heartbeating activity; the workflow picks the day and carries only the counts, never the report.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.finance import (
        RECONCILE_DAY_ACTIVITY,
        RECONCILIATION_WORKFLOW,
        ReconcileDayInput,
        ReconcileInput,
        ReconcileResult,
        day_to_reconcile,
    )

HEARTBEAT_TIMEOUT = timedelta(minutes=1)
RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=10),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=6,
)
"""Stripe or the lender down for a while is waited out; a run that keeps failing ends the workflow failed."""


@workflow.defn(name=RECONCILIATION_WORKFLOW)
class ReconciliationWorkflow:
    """Reconciles one Asia/Shanghai day and returns what it found."""

    @workflow.run
    async def run(self, input: ReconcileInput) -> ReconcileResult:
        """The given day, else yesterday (or today) as of when the run started."""
        day = input.day or day_to_reconcile(workflow.now(), input.relative)
        result: ReconcileResult = await workflow.execute_activity(
            RECONCILE_DAY_ACTIVITY,
            ReconcileDayInput(day=day),
            result_type=ReconcileResult,
            start_to_close_timeout=timedelta(seconds=input.timeout_s),
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=RETRY,
        )
        return result
