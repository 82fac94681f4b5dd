"""The running purchase: its input, what it has learnt, the customer's pending actions, and its helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.calls import NOTIFY_RETRY, call
from workflows.saga import Saga, UndoKind
from workflows.tracker import Tracker

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import Activity, SendNotificationInput, SendNotificationResult
    from carbuy.contract.events import PartnerEvent, PartnerEventType
    from carbuy.contract.order import FinancingPlan, LoanTerms
    from carbuy.contract.purchase import Amounts, HandoverInput, PurchaseInput, purchase_workflow_id

R = TypeVar("R", bound=BaseModel)


class PurchaseEnded(Exception):
    """The purchase cannot go on (expired, cancelled by the customer, refused by a partner): compensate."""

    def __init__(self, reason: str, *, partner_refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partner_refused = partner_refused


@dataclass
class Payment:
    """A payment the customer submitted and its outcome (None while it runs)."""

    payment_method: str
    outcome: str | None = None
    message: str = ""
    settled: bool = False

    @property
    def answered(self) -> bool:
        """Declined, or paid and the purchase has moved past the payment step."""
        return self.outcome == "declined" or self.settled


class Purchase:
    """Everything one purchase holds while it runs; the workflow's handlers and stages share it."""

    def __init__(self, input: PurchaseInput) -> None:
        self.input = input
        self.order = input.order
        self.policy = input.policy
        self.quote = input.quote
        self.workflow_id = purchase_workflow_id(input.order.order_id)
        q = input.quote
        self.tracker = Tracker(
            Amounts(
                price=q.price_fen, deposit=q.deposit_fen, insurance_premium=q.premium_fen,
                purchase_tax=q.purchase_tax_fen, plate_fee=q.plate_fee_fen, loan_principal=q.loan_principal_fen,
                balance_due=0,
            )
        )
        self.saga = Saga()
        self.plan: FinancingPlan = input.order.financing_plan
        self.loan_terms: LoanTerms | None = input.order.loan
        self.commercial_insurance = input.order.commercial_insurance
        self.trim = input.order.trim
        self.colour = input.order.colour
        self.delivery_centre: str | None = None
        self.locked = False
        self.handed_over = False
        self.vin: str | None = None
        self.warehouse: str | None = None
        self.policy_id: str | None = None
        self.plate: str | None = None
        self.loan_application_id: str | None = None
        self.loan_principal = 0
        self.battery_contract_id: str | None = None
        self.premium = input.quote.premium_fen
        self.deposit: Payment | None = None
        self.balance: Payment | None = None
        self.balance_open = False
        self.handover: HandoverInput | None = None
        self.cancel_reason: str | None = None
        self.stop_reason: str | None = None
        self.payment_attempts: dict[str, int] = {}
        self.events: dict[str, PartnerEvent] = {}

    def key(self, step: str) -> str:
        """The idempotency key of a step of this purchase."""
        return f"{self.workflow_id}:{step}"

    def receive(self, event: PartnerEvent) -> bool:
        """Keep a partner event once (duplicates by event id are dropped); whether it was new."""
        if event.event_id in self.events:
            return False
        self.events[event.event_id] = event
        return True

    def event(self, reference: str, types: Iterable[PartnerEventType]) -> PartnerEvent | None:
        """The first event of one of these types about this partner reference, in arrival order."""
        wanted = {t.value for t in types}
        return next((e for e in self.events.values() if e.reference == reference and e.type in wanted), None)

    @property
    def stopping(self) -> bool:
        """Whether the purchase must stop at its next step (a cancellation, or a failed sibling branch)."""
        return self.cancel_reason is not None or self.stop_reason is not None

    def checkpoint(self) -> None:
        """Stop here if the purchase was cancelled or a sibling branch failed (never after handover)."""
        if self.handed_over:
            return
        if self.cancel_reason is not None:
            raise PurchaseEnded(f"cancelled: {self.cancel_reason}")
        if self.stop_reason is not None:
            raise PurchaseEnded(f"stopped: {self.stop_reason}")

    async def wait(self, what: str, ready: Callable[[], bool], deadline: timedelta | None, *, expires: bool) -> bool:
        """Wait until ready (or a cancellation); at the deadline either expire (False) or note the breach."""
        wait = self.tracker.waiting(what, deadline)
        try:
            try:
                await workflow.wait_condition(lambda: ready() or self.stopping, timeout=deadline)
            except TimeoutError:
                if not ready():  # what arrived together with the timer still counts
                    if expires:
                        return False
                    self.tracker.note(f"SLA breached: waiting for {what} since {wait.since.isoformat()}")
                    await workflow.wait_condition(lambda: ready() or self.stopping)
        finally:
            self.tracker.done_waiting(wait)
        self.checkpoint()
        return True

    async def wait_event(
        self, what: str, reference: str, types: Iterable[PartnerEventType], deadline: timedelta | None
    ) -> PartnerEvent:
        """Wait for a partner's callback about a reference (an SLA breach is noted, the wait goes on)."""
        wanted = tuple(types)
        await self.wait(what, lambda: self.event(reference, wanted) is not None, deadline, expires=False)
        found = self.event(reference, wanted)
        assert found is not None
        return found

    async def act(self, activity: Activity, arg: BaseModel, result_type: type[R], summary: str) -> R:
        """Run an activity (its undo, if any, is recorded by the caller through record)."""
        return await call(activity, arg, result_type, summary=summary)

    def record(self, kind: UndoKind, reference: str, amount_fen: int = 0) -> None:
        """Record the undo of a step that just succeeded, then stop if the customer cancelled meanwhile."""
        self.saga.record(kind, reference, amount_fen)
        self.checkpoint()

    async def notify(self, template: str, **context: str | int | None) -> None:
        """Send the customer a notification (SMS); a failed notification is noted, never fails the purchase."""
        base: dict[str, str | int | None] = {
            "model": self.order.model, "trim": self.trim, "colour": self.colour,
            "delivery_centre": self.delivery_centre or "", "vin": self.vin or "", "plate": self.plate or "",
        }
        try:
            await call(
                Activity.SEND_NOTIFICATION,
                SendNotificationInput(
                    key=self.key(f"notify:{template}"), order_ref=self.order.order_id, template=template,
                    to=self.order.customer.phone, context={**base, **context},
                ),
                SendNotificationResult,
                summary=f"notify {template}",
                retry=NOTIFY_RETRY,
            )
        except ActivityError as err:
            self.tracker.note(f"notification {template} not sent: {err.cause or err}")
