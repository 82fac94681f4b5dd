"""The running purchase: its input, its per-branch records, the customer's payments, cancel and stop reasons."""

from __future__ import annotations

from temporalio import workflow

from workflows.notify import Notifier
from workflows.records import (
    BatteryRecord,
    HandoverRecord,
    InsuranceRecord,
    LoanRecord,
    Money,
    Payment,
    RegistrationRecord,
    VehicleRecord,
)
from workflows.saga import Saga
from workflows.tracker import Tracker
from workflows.waits import Waits

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.order import FinancingPlan
    from carbuy.contract.purchase import Amounts, PurchaseInput, purchase_workflow_id
    from carbuy.contract.undo import UndoKind


class PurchaseEnded(Exception):
    """The purchase cannot go on (expired, cancelled by the customer, refused by a partner): compensate."""

    def __init__(self, reason: str, *, partner_refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partner_refused = partner_refused


class Purchase:
    """Everything one purchase holds while it runs; the workflow's handlers and stages share it.

    What it has learnt is in one record per branch (records.py), owned by the stage code that fills it; the
    waits are the wait engine's (waits.py), the notifications the notifier's (notify.py).
    """

    def __init__(self, input: PurchaseInput) -> None:
        self.input = input
        self.order = order = input.order
        self.policy = input.policy
        self.quote = input.quote
        self.workflow_id = purchase_workflow_id(order.order_id)
        self.plan: FinancingPlan = order.financing_plan
        self.delivery_centre: str | None = None
        self.locked = False
        self.vehicle = VehicleRecord(trim=order.trim, colour=order.colour)
        self.loan = LoanRecord(terms=order.loan)
        self.battery = BatteryRecord()
        self.insurance = InsuranceRecord(commercial=order.commercial_insurance, premium=input.quote.premium_fen)
        self.registration = RegistrationRecord()
        self.handover = HandoverRecord()
        self.money = Money()
        self.deposit: Payment | None = None
        self.balance: Payment | None = None
        self.balance_open = False
        self.in_time = False
        """whether this purchase runs with the IN_TIME_ACTIONS patch (decided once, at its start)"""
        self.cooling_down: set[str] = set()
        """payments ("deposit", "balance") just declined: a new attempt is admitted after the cool-down"""
        self.payment_attempts: dict[str, int] = {}
        self.processor_events: set[str] = set()
        self.cancel_reason: str | None = None
        self.cancel_waives_fee = False
        self.stop_reason: str | None = None
        self.tracker = Tracker(self, city=order.city, model=order.model)
        self.saga = Saga()
        self.notifier = Notifier(
            order=order, workflow_id=self.workflow_id, tracker=self.tracker, key=self.key, about=self._about
        )
        self.waits = Waits(
            tracker=self.tracker,
            notifier=self.notifier,
            stopping=lambda: self.stopping,
            checkpoint=self.checkpoint,
            grace=self.policy.grace_after_outage,
        )

    def key(self, step: str) -> str:
        """The idempotency key of a step of this purchase."""
        return f"{self.workflow_id}:{step}"

    def amounts(self) -> Amounts:
        """The money of the purchase: the quote's, with the insurer's premium and the lender's principal once
        known (none after a switch to full payment), and what was paid, refunded and asked for."""
        q, loan = self.quote, self.loan
        principal = loan.principal or (q.loan_principal_fen if self.plan.has_loan else 0)
        return Amounts(
            price=q.price_fen,
            deposit=q.deposit_fen,
            insurance_premium=self.insurance.premium,
            purchase_tax=q.purchase_tax_fen,
            plate_fee=q.plate_fee_fen,
            loan_principal=principal,
            balance_due=self.money.balance_due,
            paid=self.money.paid,
            refunded=self.money.refunded,
        )

    @property
    def stopping(self) -> bool:
        """Whether the purchase must stop at its next step (a cancellation, or a failed sibling branch)."""
        return self.cancel_reason is not None or self.stop_reason is not None

    def checkpoint(self) -> None:
        """Stop here if the purchase was cancelled or a sibling branch failed (never after handover)."""
        if self.handover.done:
            return
        if self.cancel_reason is not None:
            raise PurchaseEnded(f"cancelled: {self.cancel_reason}", partner_refused=self.cancel_waives_fee)
        if self.stop_reason is not None:
            raise PurchaseEnded(f"stopped: {self.stop_reason}")

    def record(self, kind: UndoKind, reference: str, amount_fen: int = 0) -> None:
        """Record the undo of a step that just succeeded, then stop if the customer cancelled meanwhile."""
        self.saga.record(kind, reference, amount_fen)
        self.checkpoint()

    def _about(self) -> dict[str, str | int | None]:
        """What every customer notification may mention."""
        return {
            "model": self.order.model,
            "trim": self.vehicle.trim,
            "colour": self.vehicle.colour,
            "delivery_centre": self.delivery_centre or "",
            "vin": self.vehicle.vin or "",
            "plate": self.registration.plate or "",
        }
