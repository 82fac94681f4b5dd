"""PurchasePolicy: every window, SLA, fee and rule of a purchase, as configuration."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field

DAY = timedelta(days=1)

DEADLINE_FIELDS = (
    "deposit_window",
    "lock_window",
    "loan_decision_sla",
    "loan_documents_window",
    "loan_switch_window",
    "allocation_sla",
    "logistics_sla",
    "balance_window",
    "registration_sla",
    "handover_window",
    "first_service_deadline",
    "retry_after_decline",
    "grace_after_outage",
)
SCHEDULE_FIELDS = ("first_service_due", "first_service_reminder")


class PurchasePolicy(BaseModel):
    """Durations (windows the customer has, SLAs partners have) and the money rules of one purchase."""

    model_config = ConfigDict(frozen=True)

    deposit_window: timedelta = Field(default=timedelta(minutes=30), description="pay the deposit, else expire")
    lock_window: timedelta = Field(default=7 * DAY, description="lock the order, else expire with full refund")
    loan_decision_sla: timedelta = 2 * DAY
    loan_documents_window: timedelta = Field(
        default=3 * DAY, description="upload what the lender asked for, else the loan lapses like a denial"
    )
    loan_switch_window: timedelta = Field(
        default=3 * DAY,
        description="after a denied loan: switch to full payment, else the purchase is cancelled without fee",
    )
    allocation_sla: timedelta = 14 * DAY
    logistics_sla: timedelta = 10 * DAY
    balance_window: timedelta = 5 * DAY
    registration_sla: timedelta = 5 * DAY
    handover_window: timedelta = 7 * DAY
    first_service_due: timedelta = Field(default=90 * DAY, description="after handover")
    first_service_reminder: timedelta = Field(default=7 * DAY, description="before the service is due")
    first_service_deadline: timedelta = Field(default=180 * DAY, description="after handover: complete anyway")
    retry_after_decline: timedelta = Field(
        default=timedelta(minutes=10),
        description="after a declined deposit: the least time left to pay again, even past the deposit window",
    )
    grace_after_outage: timedelta = Field(
        default=timedelta(minutes=10),
        description="a customer's window that ended while the platform could not take actions: the time it reopens",
    )

    max_reallocations: int = Field(
        default=2,
        ge=0,
        description="new VINs after damage in transit or a failed PDI before the purchase is cancelled (no fee)",
    )

    deposit_fen: int = Field(default=10_000, gt=0)
    cancellation_fee_fen: int = Field(default=10_000, ge=0, description="kept from the deposit after lock")
    plate_fee_fen: int = Field(default=50_000, ge=0)
    compulsory_premium_fen: int = Field(default=95_000, ge=0, description="estimate shown at order time")
    min_down_payment_bp: int = Field(default=1_500, ge=0, le=10_000, description="15% of the price")

    def scaled(self, factor: float, *, floor: timedelta = timedelta(0)) -> PurchasePolicy:
        """The same policy with every duration multiplied by factor; no deadline shorter than floor.

        The dev stack runs a whole purchase in about a minute this way, without a code change.
        """
        changes: dict[str, timedelta] = {}
        for name in DEADLINE_FIELDS:
            changes[name] = max(getattr(self, name) * factor, floor)
        for name in SCHEDULE_FIELDS:
            changes[name] = getattr(self, name) * factor
        return self.model_copy(update=changes)
