"""PurchaseWorkflow: one car purchase, from the deposit to the first service, as a saga."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import branches, compensation, delivery, ordering
from workflows.calls import refusal
from workflows.context import Purchase, PurchaseEnded
from workflows.ops_actions import OpsActions
from workflows.patches import IN_TIME_ACTIONS, WORKFLOW_CANCEL_WAIVES_FEE
from workflows.records import Payment

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.events import PartnerEvent, ProcessorEvent
    from carbuy.contract.purchase import (
        WORKFLOW_NAME,
        ActionResult,
        CancelInput,
        ErrorType,
        FailedUndo,
        HandoverInput,
        LoanDocumentsInput,
        LockInput,
        PayInput,
        PurchaseInput,
        PurchaseResult,
        PurchaseStage,
        PurchaseState,
        PurchaseStatus,
        Query,
        Signal,
        SwitchToFullPaymentInput,
        Update,
    )
    from carbuy.domain.pricing import PricingError, loan_principal_fen


@workflow.defn(name=WORKFLOW_NAME)
class PurchaseWorkflow(OpsActions):
    """A durable saga over every institution a car purchase touches."""

    @workflow.init
    def __init__(self, input: PurchaseInput) -> None:
        self.p = Purchase(input)

    @workflow.run
    async def run(self, input: PurchaseInput) -> PurchaseResult:
        """Walk every stage; a cancellation of the workflow itself compensates like a customer's."""
        walk = asyncio.create_task(self._walk())
        try:
            return await asyncio.shield(walk)
        except asyncio.CancelledError:
            # let the step in flight finish and record its undo; the walk compensates at its next checkpoint.
            # Cancelling the workflow is an operator's act (UI, CLI, batch): like ops_cancel, it waives the fee.
            if self.p.cancel_reason is None:
                self.p.cancel_reason = "the workflow was cancelled"
                self.p.cancel_waives_fee = workflow.patched(WORKFLOW_CANCEL_WAIVES_FEE)
            await walk
            raise

    async def _walk(self) -> PurchaseResult:
        p = self.p
        p.in_time = p.waits.arm_always = workflow.patched(IN_TIME_ACTIONS)
        p.tracker.note(f"order placed: {p.order.model}, plan {p.plan.value}, {p.order.city}")
        p.tracker.publish()
        try:
            await ordering.deposit(p)
            await ordering.lock(p)
            await branches.run_branches(p)
            await delivery.balance(p)
            await delivery.registration(p)
            await delivery.handover(p)
            await delivery.first_service(p)
        except PurchaseEnded as ended:
            if not p.handover.done:
                await compensation.compensate(p, ended.reason, waive_fee=ended.partner_refused)
                return self._result()
            p.tracker.note(f"first-service follow-up stopped: {ended.reason}")
        except ActivityError as err:
            reason = f"refused: {refused.message}" if (refused := refusal(err)) else f"failed: {err.cause or err}"
            if not p.handover.done:
                await compensation.compensate(p, reason, waive_fee=True)
                return self._result()
            # the car is the customer's: nothing to undo, a person must finish the step
            await compensation.record_outcome(p, "failed")
            p.tracker.end(PurchaseState.FAILED, PurchaseStage.FAILED, f"after handover, {reason}")
            p.tracker.flag("after-handover", f"a step after handover failed: {reason}", workflow.now())
            await p.notifier.ops(
                f"a step after handover failed: {reason}",
                since=f"{workflow.now():%Y-%m-%d %H:%M}",
                key="after-handover",
            )
            return self._result()
        await p.notifier.notify("purchase_completed")
        await compensation.record_outcome(p, "completed")
        p.tracker.end(PurchaseState.COMPLETED, PurchaseStage.COMPLETED)
        return self._result()

    def _ended(self) -> bool:
        return self.p.tracker.state is not PurchaseState.ACTIVE

    def _result(self) -> PurchaseResult:
        t = self.p.tracker
        return PurchaseResult(
            order_id=self.p.order.order_id, stage=t.stage, state=t.state, reason=t.reason, status=self.status()
        )

    # customer actions (updates with validators: a refused action never reaches history)

    async def _answer(self, attempt: Payment) -> ActionResult:
        """Answer a payment action once it was charged and the purchase moved on, or it was declined."""
        await workflow.wait_condition(lambda: attempt.answered or self._ended())
        return ActionResult(accepted=attempt.outcome == "paid", stage=self.p.tracker.stage, message=attempt.message)

    def _require_no_payment_running(self, attempt: Payment | None, what: str) -> None:
        if attempt is not None and attempt.outcome in (None, "paid"):
            raise self._refuse(f"the {what} is already paid or being processed")
        if what in self.p.cooling_down:
            raise self._refuse(f"the {what} payment was declined a moment ago: try again in a few seconds")

    @workflow.update(name=Update.PAY_DEPOSIT)
    async def pay_deposit(self, input: PayInput) -> ActionResult:
        """Pay the deposit; answers once the charge succeeded or was declined."""
        self.p.deposit = attempt = Payment(payment_method=input.payment_method)
        return await self._answer(attempt)

    @pay_deposit.validator
    def _validate_pay_deposit(self, input: PayInput) -> None:
        self._require(PurchaseStage.DEPOSIT)
        self._require_no_payment_running(self.p.deposit, "deposit")

    @workflow.update(name=Update.LOCK)
    def lock(self, input: LockInput) -> ActionResult:
        """Lock trim, colour, delivery centre and financing plan."""
        p = self.p
        p.vehicle.trim, p.vehicle.colour, p.delivery_centre = input.trim, input.colour, input.delivery_centre
        p.plan, p.loan.terms, p.insurance.commercial = input.financing_plan, input.loan, input.commercial_insurance
        p.locked = True
        p.tracker.locked()
        return ActionResult(accepted=True, stage=p.tracker.stage, message="order locked")

    @lock.validator
    def _validate_lock(self, input: LockInput) -> None:
        self._require(PurchaseStage.LOCK)
        if self.p.locked:
            raise self._refuse("the order is already locked")
        try:
            _check_plan(self.p, input)
        except (ValueError, PricingError) as err:
            raise self._refuse(str(err), ErrorType.INVALID_ACTION) from None

    @workflow.update(name=Update.PAY_BALANCE)
    async def pay_balance(self, input: PayInput) -> ActionResult:
        """Pay the balance; answers once the charge succeeded or was declined."""
        self.p.balance = attempt = Payment(payment_method=input.payment_method)
        return await self._answer(attempt)

    @pay_balance.validator
    def _validate_pay_balance(self, input: PayInput) -> None:
        self._require(PurchaseStage.BALANCE_PAYMENT)
        if not self.p.balance_open:
            raise self._refuse("the balance is not due yet")
        self._require_no_payment_running(self.p.balance, "balance")

    @workflow.update(name=Update.HANDOVER)
    def handover(self, input: HandoverInput) -> ActionResult:
        """Accept or refuse the car at the delivery centre."""
        self.p.handover.decision = input
        return ActionResult(
            accepted=input.accepted,
            stage=self.p.tracker.stage,
            message="handover accepted" if input.accepted else "handover refused",
        )

    @handover.validator
    def _validate_handover(self, input: HandoverInput) -> None:
        self._require(PurchaseStage.HANDOVER)
        if self.p.handover.decision is not None:
            raise self._refuse("a handover decision is already being processed")
        if self.p.cancel_reason is not None:
            raise self._refuse("the purchase is being cancelled")

    @workflow.update(name=Update.CANCEL)
    def cancel(self, input: CancelInput) -> ActionResult:
        """Cancel the purchase: the recorded steps are undone, with the fee rules of the stage."""
        self.p.cancel_reason = input.reason
        return ActionResult(accepted=True, stage=self.p.tracker.stage, message="cancellation started")

    @cancel.validator
    def _validate_cancel(self, input: CancelInput) -> None:
        self._require_cancellable()

    @workflow.update(name=Update.SWITCH_TO_FULL_PAYMENT)
    def switch_to_full_payment(self, input: SwitchToFullPaymentInput) -> ActionResult:
        """After the lender said no: pay the whole price instead (the battery lease, if any, stays)."""
        self.p.loan.switched_to_full = True
        return ActionResult(accepted=True, stage=self.p.tracker.stage, message="switching to full payment")

    @switch_to_full_payment.validator
    def _validate_switch_to_full_payment(self, input: SwitchToFullPaymentInput) -> None:
        self._require_loan_step(
            self.p.loan.refused is not None and not self.p.loan.switched_to_full,
            "only after the lender refused the loan, and only once",
        )

    def _require_loan_step(self, asked: bool, otherwise: str) -> None:
        """A customer's answer to the lender: only while the branches run, asked for, and not being cancelled."""
        self._require(
            PurchaseStage.ALLOCATION, PurchaseStage.LOGISTICS, PurchaseStage.FINANCING, PurchaseStage.INSURANCE
        )
        if not asked:
            raise self._refuse(otherwise)
        if self.p.stopping:
            raise self._refuse("the purchase is being cancelled")

    @workflow.update(name=Update.UPLOAD_LOAN_DOCUMENTS)
    def upload_loan_documents(self, input: LoanDocumentsInput) -> ActionResult:
        """The documents the lender asked for; they are sent on and the lender decides."""
        self.p.loan.documents = input
        return ActionResult(accepted=True, stage=self.p.tracker.stage, message="documents sent to the lender")

    @upload_loan_documents.validator
    def _validate_upload_loan_documents(self, input: LoanDocumentsInput) -> None:
        self._require_loan_step(
            self.p.loan.documents_asked is not None and self.p.loan.documents is None,
            "the lender asked for no documents, or they were uploaded already",
        )

    @workflow.signal(name=Signal.PARTNER_EVENT)
    def partner_event(self, event: PartnerEvent) -> None:
        """A partner's asynchronous answer (duplicates by event id are ignored)."""
        if self.p.waits.receive(event):
            self.p.tracker.partner_answered(f"{event.institution}: {event.type}")

    @workflow.signal(name=Signal.PROCESSOR_EVENT)
    def processor_event(self, event: ProcessorEvent) -> None:
        """The payment processor's own word on a charge or refund (duplicates by event id are ignored)."""
        if event.event_id not in self.p.processor_events:
            self.p.processor_events.add(event.event_id)
            self.p.tracker.note(f"processor: {event.type} {event.object_id} ({event.amount_fen} fen)")

    @workflow.query(name=Query.STATUS)
    def status(self) -> PurchaseStatus:
        """Stage, branches, amounts, waits and timeline."""
        p, t = self.p, self.p.tracker
        return PurchaseStatus(
            order_id=p.order.order_id,
            stage=t.stage,
            state=t.state,
            model=p.order.model,
            city=p.order.city,
            mode=p.order.mode,
            financing_plan=p.plan,
            delivery_centre=p.delivery_centre,
            vin=p.vehicle.vin,
            plate=p.registration.plate,
            amounts=t.amounts,
            branches=list(t.branches.values()),
            waiting_for=list(t.waits),
            timeline=list(t.timeline),
            reason=t.reason,
            attention=t.attention_status(),
            failed_undos=[
                FailedUndo(kind=u.kind.value, reference=u.reference, amount_fen=u.amount_fen, error=u.error or "")
                for u in p.saga.failed()
            ],
        )


def _check_plan(p: Purchase, input: LockInput) -> None:
    if p.input.trims and input.trim not in p.input.trims:
        raise ValueError(f"unknown trim {input.trim!r}; choose one of {', '.join(p.input.trims)}")
    if p.input.colours and input.colour not in p.input.colours:
        raise ValueError(f"unknown colour {input.colour!r}; choose one of {', '.join(p.input.colours)}")
    if input.financing_plan.mode is not p.order.mode:
        raise ValueError(f"plan {input.financing_plan.value} does not fit mode {p.order.mode.value}")
    if input.financing_plan.has_loan:
        if input.loan is None:
            raise ValueError(f"plan {input.financing_plan.value} needs loan terms")
        loan_principal_fen(p.quote.price_fen, input.loan.down_payment_fen, p.policy.min_down_payment_bp)
    elif input.loan is not None:
        raise ValueError(f"plan {input.financing_plan.value} takes no loan terms")
