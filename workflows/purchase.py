"""PurchaseWorkflow: one car purchase, from the deposit to the first service, as a saga."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import branches, delivery, ordering
from workflows.calls import call, refusal
from workflows.context import Payment, Purchase, PurchaseEnded
from workflows.saga import Undo, UndoKind

with workflow.unsafe.imports_passed_through():
    from carbuy.contract import activities as a
    from carbuy.contract.events import PartnerEvent
    from carbuy.contract.purchase import (
        WORKFLOW_NAME,
        ActionResult,
        CancelInput,
        ErrorType,
        HandoverInput,
        LockInput,
        PayInput,
        PurchaseInput,
        PurchaseResult,
        PurchaseStage,
        PurchaseState,
        PurchaseStatus,
        Query,
        Signal,
        Update,
    )
    from carbuy.domain.pricing import PricingError, cancellation_refund_fen, loan_principal_fen


@workflow.defn(name=WORKFLOW_NAME)
class PurchaseWorkflow:
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
            # let the step in flight finish and record its undo; the walk compensates at its next checkpoint
            self.p.cancel_reason = self.p.cancel_reason or "the workflow was cancelled"
            await walk
            raise

    async def _walk(self) -> PurchaseResult:
        p = self.p
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
            return await self._compensate(ended.reason, partner_refused=ended.partner_refused)
        except ActivityError as err:
            refused = refusal(err)
            if refused is None:
                raise
            return await self._compensate(f"refused: {refused.message}", partner_refused=True)
        await p.notify("purchase_completed")
        p.tracker.end(PurchaseState.COMPLETED, PurchaseStage.COMPLETED)
        return self._result()

    async def _compensate(self, reason: str, *, partner_refused: bool) -> PurchaseResult:
        p = self.p
        p.tracker.end(PurchaseState.COMPENSATING, p.tracker.stage, reason)
        self._partner_refused = partner_refused
        failed = await p.saga.compensate(self._undo)
        if failed:
            detail = "; ".join(f"{u.kind.value} {u.reference}: {u.error}" for u in failed)
            p.tracker.end(PurchaseState.FAILED, PurchaseStage.FAILED, f"{reason}; undo failed: {detail}")
        else:
            p.tracker.end(PurchaseState.CANCELLED, PurchaseStage.CANCELLED, reason)
            if p.deposit is not None and p.deposit.outcome == "paid":
                await p.notify("purchase_cancelled", reason=reason, refund_fen=p.tracker.amounts.refunded)
        return self._result()

    async def _undo(self, undo: Undo) -> None:
        p, ref, order_ref = self.p, undo.reference, self.p.order.order_id
        key = p.key(f"undo:{undo.kind.value}:{ref}")
        match undo.kind:
            case UndoKind.REFUND_DEPOSIT | UndoKind.REFUND_BALANCE:
                amount = undo.amount_fen
                if undo.kind is UndoKind.REFUND_DEPOSIT:
                    amount = cancellation_refund_fen(
                        deposit_paid_fen=undo.amount_fen, locked=p.locked,
                        partner_refused=self._partner_refused, fee_fen=p.policy.cancellation_fee_fen,
                    )
                if amount > 0:
                    await call(a.Activity.REFUND, a.RefundInput(key=key, order_ref=order_ref, payment_intent_id=ref,
                               amount_fen=amount, reason=undo.kind.value), a.RefundResult,
                               summary=f"{undo.kind.value} {amount} fen")
                    p.tracker.amounts.refunded += amount
            case UndoKind.RELEASE_VEHICLE:
                await call(a.Activity.RELEASE_VEHICLE, a.ReleaseVehicleInput(key=key, order_ref=order_ref,
                           reservation_id=ref), a.ReleaseVehicleResult, summary="release the VIN")
            case UndoKind.CANCEL_LOAN:
                await call(a.Activity.CANCEL_LOAN, a.CancelLoanInput(key=key, order_ref=order_ref,
                           application_id=ref), a.CancelLoanResult, summary="cancel the loan")
            case UndoKind.CANCEL_BATTERY_CONTRACT:
                await call(a.Activity.CANCEL_BATTERY_CONTRACT, a.BatteryContractRef(key=key, order_ref=order_ref,
                           contract_id=ref), a.BatteryContractResult, summary="cancel the battery lease")
            case UndoKind.CANCEL_POLICY:
                await call(a.Activity.CANCEL_POLICY, a.CancelPolicyInput(key=key, order_ref=order_ref,
                           policy_id=ref), a.CancelPolicyResult, summary="cancel the insurance policy")
            case UndoKind.CANCEL_SHIPMENT:
                await call(a.Activity.CANCEL_SHIPMENT, a.CancelShipmentInput(key=key, order_ref=order_ref,
                           shipment_id=ref), a.CancelShipmentResult, summary="cancel the shipment")
        p.tracker.note(f"undone: {undo.kind.value} {ref}")

    def _ended(self) -> bool:
        return self.p.tracker.state is not PurchaseState.ACTIVE

    def _result(self) -> PurchaseResult:
        t = self.p.tracker
        return PurchaseResult(order_id=self.p.order.order_id, stage=t.stage, state=t.state, reason=t.reason)

    # customer actions (updates with validators: a refused action never reaches history)

    def _require(self, *stages: PurchaseStage) -> None:
        stage = self.p.tracker.stage
        if self.p.tracker.state is not PurchaseState.ACTIVE or stage not in stages:
            raise ApplicationError(
                f"not allowed in stage {stage.value} (state {self.p.tracker.state.value})",
                {"stage": stage.value, "state": self.p.tracker.state.value},
                type=ErrorType.WRONG_STAGE.value,
            )

    async def _answer(self, attempt: Payment) -> ActionResult:
        """Answer a payment action once it was charged and the purchase moved on, or it was declined."""
        await workflow.wait_condition(lambda: attempt.answered or self._ended())
        return ActionResult(accepted=attempt.outcome == "paid", stage=self.p.tracker.stage, message=attempt.message)

    def _require_no_payment_running(self, attempt: Payment | None, what: str) -> None:
        if attempt is not None and attempt.outcome in (None, "paid"):
            raise ApplicationError(f"the {what} is already paid or being processed", type=ErrorType.WRONG_STAGE.value)

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
        p.trim, p.colour, p.delivery_centre = input.trim, input.colour, input.delivery_centre
        p.plan, p.loan_terms, p.commercial_insurance = input.financing_plan, input.loan, input.commercial_insurance
        p.locked = True
        return ActionResult(accepted=True, stage=p.tracker.stage, message="order locked")

    @lock.validator
    def _validate_lock(self, input: LockInput) -> None:
        self._require(PurchaseStage.LOCK)
        if self.p.locked:
            raise ApplicationError("the order is already locked", type=ErrorType.WRONG_STAGE.value)
        try:
            _check_plan(self.p, input)
        except (ValueError, PricingError) as err:
            raise ApplicationError(str(err), type=ErrorType.INVALID_ACTION.value) from None

    @workflow.update(name=Update.PAY_BALANCE)
    async def pay_balance(self, input: PayInput) -> ActionResult:
        """Pay the balance; answers once the charge succeeded or was declined."""
        self.p.balance = attempt = Payment(payment_method=input.payment_method)
        return await self._answer(attempt)

    @pay_balance.validator
    def _validate_pay_balance(self, input: PayInput) -> None:
        self._require(PurchaseStage.BALANCE_PAYMENT)
        if not self.p.balance_open:
            raise ApplicationError("the balance is not due yet", type=ErrorType.WRONG_STAGE.value)
        self._require_no_payment_running(self.p.balance, "balance")

    @workflow.update(name=Update.HANDOVER)
    def handover(self, input: HandoverInput) -> ActionResult:
        """Accept or refuse the car at the delivery centre."""
        self.p.handover = input
        return ActionResult(accepted=input.accepted, stage=self.p.tracker.stage,
                            message="handover accepted" if input.accepted else "handover refused")

    @handover.validator
    def _validate_handover(self, input: HandoverInput) -> None:
        self._require(PurchaseStage.HANDOVER)
        if self.p.handover is not None:
            raise ApplicationError("a handover decision is already being processed", type=ErrorType.WRONG_STAGE.value)

    @workflow.update(name=Update.CANCEL)
    def cancel(self, input: CancelInput) -> ActionResult:
        """Cancel the purchase: the recorded steps are undone, with the fee rules of the stage."""
        self.p.cancel_reason = input.reason
        return ActionResult(accepted=True, stage=self.p.tracker.stage, message="cancellation started")

    @cancel.validator
    def _validate_cancel(self, input: CancelInput) -> None:
        before_handover = [s for s in PurchaseStage if s not in _NOT_CANCELLABLE]
        self._require(*before_handover)
        if self.p.handed_over or self.p.cancel_reason is not None:
            raise ApplicationError("already handed over or cancelling", type=ErrorType.WRONG_STAGE.value)

    @workflow.signal(name=Signal.PARTNER_EVENT)
    def partner_event(self, event: PartnerEvent) -> None:
        """A partner's asynchronous answer (duplicates by event id are ignored)."""
        if self.p.receive(event):
            self.p.tracker.note(f"{event.institution}: {event.type}")

    @workflow.query(name=Query.STATUS)
    def status(self) -> PurchaseStatus:
        """Stage, branches, amounts, waits and timeline."""
        p, t = self.p, self.p.tracker
        return PurchaseStatus(
            order_id=p.order.order_id, stage=t.stage, state=t.state, model=p.order.model, city=p.order.city,
            mode=p.order.mode, financing_plan=p.plan, delivery_centre=p.delivery_centre, vin=p.vin, plate=p.plate,
            amounts=t.amounts, branches=list(t.branches.values()), waiting_for=list(t.waits),
            timeline=list(t.timeline), reason=t.reason,
        )


_NOT_CANCELLABLE = frozenset({PurchaseStage.FIRST_SERVICE, PurchaseStage.COMPLETED, PurchaseStage.CANCELLED,
                              PurchaseStage.FAILED})


def _check_plan(p: Purchase, input: LockInput) -> None:
    if input.financing_plan.mode is not p.order.mode:
        raise ValueError(f"plan {input.financing_plan.value} does not fit mode {p.order.mode.value}")
    if input.financing_plan.has_loan:
        if input.loan is None:
            raise ValueError(f"plan {input.financing_plan.value} needs loan terms")
        loan_principal_fen(p.quote.price_fen, input.loan.down_payment_fen, p.policy.min_down_payment_bp)
    elif input.loan is not None:
        raise ValueError(f"plan {input.financing_plan.value} takes no loan terms")
