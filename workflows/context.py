"""The running purchase: its input, what it has learnt, the customer's pending actions, and its helpers."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, TypeVar

from pydantic import BaseModel
from temporalio import workflow

from workflows import metrics
from workflows.calls import BOOKKEEPING_FAILED, NOTIFY_RETRY, bookkeep, call
from workflows.saga import Saga, UndoKind
from workflows.tracker import Tracker, deadline_left

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import Activity, SendNotificationInput, SendNotificationResult
    from carbuy.contract.events import PartnerEvent, PartnerEventType
    from carbuy.contract.ops import CorrectRegistrationInput
    from carbuy.contract.order import FinancingPlan, LoanTerms
    from carbuy.contract.purchase import (
        Amounts,
        HandoverInput,
        LoanDocumentsInput,
        PurchaseInput,
        Wait,
        purchase_workflow_id,
    )

R = TypeVar("R", bound=BaseModel)

CUSTOMER_WAIT = "the customer "
"""How the description of a wait on the customer begins (see ordering.py and delivery.py)."""


class PurchaseEnded(Exception):
    """The purchase cannot go on (expired, cancelled by the customer, refused by a partner): compensate."""

    def __init__(self, reason: str, *, partner_refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partner_refused = partner_refused


@dataclass(frozen=True)
class Resend:
    """The partner request a wait depends on: an ops retry sends it again under the same idempotency key."""

    activity: Activity
    arg: BaseModel
    result_type: type[BaseModel]
    summary: str


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
                price=q.price_fen,
                deposit=q.deposit_fen,
                insurance_premium=q.premium_fen,
                purchase_tax=q.purchase_tax_fen,
                plate_fee=q.plate_fee_fen,
                loan_principal=q.loan_principal_fen,
                balance_due=0,
            ),
            city=input.order.city,
            model=input.order.model,
            plan=input.order.financing_plan.value,
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
        self.loan_refused: str | None = None
        """Why the lender said no, while the customer may still switch to full payment."""
        self.switched_to_full = False
        self.documents_asked: str | None = None
        """What the lender asked for, while the customer may upload it."""
        self.loan_documents: LoanDocumentsInput | None = None
        self.reallocations = 0
        self.insured_vin: str | None = None
        self.battery_contract_id: str | None = None
        self.premium = input.quote.premium_fen
        self.deposit: Payment | None = None
        self.balance: Payment | None = None
        self.balance_open = False
        self.handover: HandoverInput | None = None
        self.cancel_reason: str | None = None
        self.cancel_waives_fee = False
        self.stop_reason: str | None = None
        self.shipment_id: str | None = None
        self.registration_rejected = False
        self.registration_correction: CorrectRegistrationInput | None = None
        self.retry_round = 0
        self.disbursed_fen = 0
        self.processor_events: set[str] = set()
        self.breaches = 0
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
            raise PurchaseEnded(f"cancelled: {self.cancel_reason}", partner_refused=self.cancel_waives_fee)
        if self.stop_reason is not None:
            raise PurchaseEnded(f"stopped: {self.stop_reason}")

    async def wait(
        self,
        what: str,
        ready: Callable[[], bool],
        deadline: timedelta | None,
        *,
        expires: bool,
        resend: Resend | None = None,
    ) -> bool:
        """Wait until ready (or a cancellation); at the deadline either expire (False) or flag the SLA breach
        for ops and wait on. Ops may extend the deadline, or retry: the partner request is sent again."""
        wait = self.tracker.waiting(what, deadline, retryable=resend is not None)
        try:
            arrived = await self._wait_loop(wait, ready, deadline, expires=expires, resend=resend)
        except GeneratorExit:
            raise  # the worker evicted the workflow from its cache: nothing to record
        except BaseException:
            self._end_wait(wait)
            raise
        self._end_wait(wait)
        if arrived:
            self.checkpoint()
        return arrived

    def _end_wait(self, wait: Wait) -> None:
        self.tracker.unflag(wait.what)
        self.tracker.done_waiting(wait)

    async def _wait_loop(
        self, wait: Wait, ready: Callable[[], bool], sla: timedelta | None, *, expires: bool, resend: Resend | None
    ) -> bool:
        while not (ready() or self.stopping):
            seen_round, seen_deadline = self.retry_round, wait.deadline
            try:
                await workflow.wait_condition(
                    lambda r=seen_round, d=seen_deadline: (
                        ready()
                        or self.stopping  # type: ignore[misc]
                        or self.retry_round != r
                        or wait.deadline != d
                    ),
                    timeout=None if wait.deadline is None else deadline_left(wait.deadline),
                )
            except TimeoutError:
                if ready():  # what arrived together with the timer still counts
                    break
                if expires:
                    return False
                await self._breached(wait)
                continue
            if wait.deadline != seen_deadline:
                until = "no deadline" if wait.deadline is None else f"{wait.deadline:%Y-%m-%d %H:%M} UTC"
                self.tracker.unflag(wait.what, f"deadline of {wait.what} extended to {until}")
            if self.retry_round != seen_round and resend is not None and not (ready() or self.stopping):
                await self._resend(wait, resend, sla)
        return True

    async def _breached(self, wait: Wait) -> None:
        """The SLA passed: flag the purchase for ops, tell the customer and ops, and wait on without deadline."""
        wait.breached, wait.deadline = True, None
        self.breaches += 1
        metrics.sla_breached(self.tracker.stage.value)
        since = f"{wait.since:%Y-%m-%d %H:%M} UTC"
        self.tracker.flag(wait.what, f"SLA breached: waiting for {wait.what} since {since}", wait.since)
        if not wait.what.startswith(CUSTOMER_WAIT):  # a delay is never blamed on the customer it is sent to
            await self.notify("purchase_delayed", key=f"delayed-{self.breaches}", waiting_for=wait.what, since=since)
        await self.notify_ops(f"SLA breached: waiting for {wait.what}", since=since, key=f"sla-{self.breaches}")

    async def _resend(self, wait: Wait, resend: Resend, sla: timedelta | None) -> None:
        """An ops retry: send the request again (same key) and restart the SLA clock."""
        await call(resend.activity, resend.arg, resend.result_type, summary=f"ops retry: {resend.summary}")
        wait.breached, wait.deadline = False, None if sla is None else workflow.now() + sla
        self.tracker.unflag(wait.what, f"ops retry: {resend.summary} sent again")
        self.tracker.show()

    def extend_deadlines(self, by: timedelta) -> int:
        """Push back every current wait's deadline (a breached wait gets a new one); how many waits moved."""
        now = workflow.now()
        for wait in self.tracker.waits:
            wait.deadline = (wait.deadline or now) + by
            wait.breached = False
        self.tracker.show()
        return len(self.tracker.waits)

    async def wait_event(
        self,
        what: str,
        reference: str,
        types: Iterable[PartnerEventType],
        deadline: timedelta | None,
        *,
        resend: Resend | None = None,
    ) -> PartnerEvent:
        """Wait for a partner's callback about a reference (an SLA breach is flagged, the wait goes on)."""
        wanted = tuple(types)
        await self.wait(what, lambda: self.event(reference, wanted) is not None, deadline, expires=False, resend=resend)
        found = self.event(reference, wanted)
        assert found is not None
        return found

    async def act(self, activity: Activity, arg: BaseModel, result_type: type[R], summary: str) -> R:
        """Run an activity (its undo, if any, is recorded by the caller through record)."""
        return await call(activity, arg, result_type, summary=summary)

    async def act_resendable(
        self, activity: Activity, arg: BaseModel, result_type: type[R], summary: str
    ) -> tuple[R, Resend]:
        """Run a partner request whose answer comes by callback; also return how to send it again."""
        return await call(activity, arg, result_type, summary=summary), Resend(activity, arg, result_type, summary)

    def record(self, kind: UndoKind, reference: str, amount_fen: int = 0) -> None:
        """Record the undo of a step that just succeeded, then stop if the customer cancelled meanwhile."""
        self.saga.record(kind, reference, amount_fen)
        self.checkpoint()

    async def notify(self, template: str, *, key: str | None = None, **context: str | int | None) -> None:
        """Send the customer a notification (SMS); a failed notification is noted, never fails the purchase."""
        base: dict[str, str | int | None] = {
            "model": self.order.model,
            "trim": self.trim,
            "colour": self.colour,
            "delivery_centre": self.delivery_centre or "",
            "vin": self.vin or "",
            "plate": self.plate or "",
        }
        await self._send(template, key or template, "customer", self.order.customer.phone, {**base, **context})

    async def notify_ops(self, why: str, *, since: str, key: str) -> None:
        """Tell the ops team that this purchase needs a person (through the outbox, to the ops address)."""
        context: dict[str, str | int | None] = {
            "order_id": self.order.order_id,
            "workflow_id": self.workflow_id,
            "stage": self.tracker.stage.value,
            "why": why,
            "since": since,
            "city": self.order.city,
        }
        await self._send("ops_attention", f"ops:{key}", "ops", "ops", context)

    async def _send(
        self,
        template: str,
        key: str,
        audience: Literal["customer", "ops"],
        to: str,
        context: dict[str, str | int | None],
    ) -> None:
        channel: Literal["sms", "email"] = "sms" if audience == "customer" else "email"
        try:
            await bookkeep(
                Activity.SEND_NOTIFICATION,
                SendNotificationInput(
                    key=self.key(f"notify:{key}"),
                    order_ref=self.order.order_id,
                    template=template,
                    channel=channel,
                    to=to,
                    audience=audience,
                    context=context,
                ),
                SendNotificationResult,
                summary=f"notify {audience} {template}",
                retry=NOTIFY_RETRY,
            )
        except BOOKKEEPING_FAILED as err:
            self.tracker.note(f"notification {template} not sent: {err.cause or err}")
