"""The finance contract: the daily reconciliation's workflow, activity, schedule, and the kinds of discrepancy.

The starter, the worker, the CLI and the tests import these names; no string literal is repeated elsewhere.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from carbuy.domain.money import market_date

RECONCILIATION_WORKFLOW = "ReconciliationWorkflow"
RECONCILE_DAY_ACTIVITY = "reconcile_day"
SCHEDULE_ID = "carbuy-reconciliation"
"""The Temporal Schedule that starts the reconciliation (daily by default, every minute in the dev stack)."""

DayChoice = Literal["yesterday", "today"]
"""Which Asia/Shanghai day a run without an explicit day reconciles, relative to when it runs."""


def reconciliation_workflow_id(day: date) -> str:
    """The workflow id of an on-demand reconciliation of one day: one run of a day at a time."""
    return f"reconcile-{day.isoformat()}"


def day_to_reconcile(now: datetime, relative: DayChoice) -> date:
    """The Asia/Shanghai day a run at `now` reconciles: that day, or the one before."""
    today = market_date(now)
    return today if relative == "today" else today - timedelta(days=1)


class DiscrepancyType(StrEnum):
    """Every way carbuy's books and its counterparties' can disagree, in the order a report lists them."""

    MISSING_IN_LEDGER = "missing_in_ledger"
    """The processor moved money for a purchase carbuy knows, and the ledger has no row for it."""
    MISSING_AT_PROCESSOR = "missing_at_processor"
    """The ledger has a processor row whose charge or refund the processor does not have (or never settled)."""
    AMOUNT_MISMATCH = "amount_mismatch"
    """The ledger and the processor name the same charge or refund with different amounts."""
    DUPLICATE_CHARGE = "duplicate_charge"
    """A second succeeded charge for one idempotency key: the customer paid twice."""
    REFUND_WITHOUT_CHARGE = "refund_without_charge"
    """A refund whose PaymentIntent is not a succeeded charge of the same purchase."""
    PAYMENT_WITHOUT_PURCHASE = "payment_without_purchase"
    """Money moved at the processor for an order carbuy has no trace of (no ledger row, outcome or payment key)."""
    LENDER_MISMATCH = "lender_mismatch"
    """The lender's settlement file and the ledger disagree on a disbursement or a principal return."""
    NET_DIFFERS_FROM_OUTCOME = "net_differs_from_outcome"
    """A purchase that ended that day holds other money than the domain rules say its outcome should cost."""

    @property
    def heading(self) -> str:
        """A heading for people."""
        return self.value.replace("_", " ").capitalize()


class ReconcileInput(BaseModel):
    """Reconcile one day: the given one, else yesterday or today (Asia/Shanghai) as of when the run starts."""

    day: date | None = None
    relative: DayChoice = "yesterday"
    timeout_s: float = Field(default=3600.0, gt=0, description="longest the reconciliation activity may run")


class ReconcileDayInput(BaseModel):
    """The activity's input: the day to reconcile, compare and report."""

    day: date


class ReconcileResult(BaseModel):
    """What a reconciliation found (the report itself is stored, by day, not carried in history)."""

    day: date
    movements: int = Field(description="ledger rows, processor objects and lender lines compared")
    discrepancies: int
    by_type: dict[DiscrepancyType, int] = Field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """No discrepancy at all."""
        return self.discrepancies == 0
