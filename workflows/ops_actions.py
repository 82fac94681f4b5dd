"""Ops actions on a purchase: updates whose validators refuse, before anything reaches history, an action that
does not fit the purchase's stage or data; each records the operator and the reason in the timeline."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.context import Purchase

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.ops import (
        ChangeDeliveryCentreInput,
        CorrectRegistrationInput,
        ExtendDeadlineInput,
        OpsCancelInput,
        OpsInput,
        OpsResult,
        OpsUpdate,
        ResolveUndoInput,
        RetryInput,
    )
    from carbuy.contract.purchase import ErrorType, PurchaseStage, PurchaseState

NOT_CANCELLABLE = frozenset(
    {PurchaseStage.FIRST_SERVICE, PurchaseStage.COMPLETED, PurchaseStage.CANCELLED, PurchaseStage.FAILED}
)


class Refusals:
    """How every action handler refuses: an ApplicationError that carries the stage and the state."""

    p: Purchase

    def _refuse(self, message: str, type: ErrorType = ErrorType.WRONG_STAGE) -> ApplicationError:
        """A refusal that carries the current stage and state (the API answers 409 or 422 with them)."""
        t = self.p.tracker
        return ApplicationError(message, {"stage": t.stage.value, "state": t.state.value}, type=type.value)

    def _require(self, *stages: PurchaseStage) -> None:
        stage = self.p.tracker.stage
        if self.p.tracker.state is not PurchaseState.ACTIVE or stage not in stages:
            raise self._refuse(f"not allowed in stage {stage.value} (state {self.p.tracker.state.value})")

    def _require_cancellable(self) -> None:
        self._require(*(s for s in PurchaseStage if s not in NOT_CANCELLABLE))
        accepting = self.p.handover.decision is not None and self.p.handover.decision.accepted
        if self.p.handover.done or accepting or self.p.cancel_reason is not None:
            raise self._refuse("the car is handed over, or the purchase is already being cancelled")


class OpsActions(Refusals):
    """The ops updates of PurchaseWorkflow (mixed into it)."""

    def _done(self, input: OpsInput, action: str) -> OpsResult:
        t = self.p.tracker
        t.note(f"ops {input.operator}: {action} ({input.reason})")
        return OpsResult(accepted=True, stage=t.stage, state=t.state, message=action)

    @workflow.update(name=OpsUpdate.RETRY)
    def ops_retry(self, input: RetryInput) -> OpsResult:
        """Send the partner requests the purchase waits on again, or run the failed undos again."""
        self.p.waits.retry_round += 1
        if self.p.tracker.state is PurchaseState.FAILED:
            return self._done(input, "retrying the failed undos")
        waits = [w.what for w in self.p.tracker.waits if w.retryable]
        return self._done(input, f"re-sending the request behind: {'; '.join(waits)}")

    @ops_retry.validator
    def _validate_ops_retry(self, input: RetryInput) -> None:
        state = self.p.tracker.state
        if state is PurchaseState.FAILED and self.p.saga.failed():
            return
        if state is not PurchaseState.ACTIVE or not any(w.retryable for w in self.p.tracker.waits):
            raise self._refuse("nothing to retry: the purchase waits on no partner request and no undo failed")

    @workflow.update(name=OpsUpdate.CORRECT_REGISTRATION)
    def ops_correct_registration(self, input: CorrectRegistrationInput) -> OpsResult:
        """Resubmit the rejected registration with corrected owner data."""
        self.p.registration.correction = input
        return self._done(input, "registration corrected, resubmitting")

    @ops_correct_registration.validator
    def _validate_ops_correct_registration(self, input: CorrectRegistrationInput) -> None:
        self._require(PurchaseStage.REGISTRATION)
        if not self.p.registration.rejected or self.p.registration.correction is not None:
            raise self._refuse("the registration was not rejected, or a correction is already being submitted")

    @workflow.update(name=OpsUpdate.CHANGE_DELIVERY_CENTRE)
    def ops_change_delivery_centre(self, input: ChangeDeliveryCentreInput) -> OpsResult:
        """Deliver to another delivery centre."""
        old, self.p.delivery_centre = self.p.delivery_centre, input.delivery_centre
        self.p.tracker.locked()
        return self._done(input, f"delivery centre {old} -> {input.delivery_centre}")

    @ops_change_delivery_centre.validator
    def _validate_ops_change_delivery_centre(self, input: ChangeDeliveryCentreInput) -> None:
        self._require_cancellable()
        if not self.p.locked or self.p.vehicle.shipment_id is not None:
            raise self._refuse("the delivery centre can change only after lock and before the shipment is booked")
        if input.delivery_centre == self.p.delivery_centre:
            raise self._refuse(f"the purchase already goes to {input.delivery_centre}", ErrorType.INVALID_ACTION)

    @workflow.update(name=OpsUpdate.EXTEND_DEADLINE)
    def ops_extend_deadline(self, input: ExtendDeadlineInput) -> OpsResult:
        """Push back every deadline the purchase waits on now."""
        moved = self.p.waits.extend_deadlines(input.extend_by)
        return self._done(input, f"{moved} deadline(s) extended by {input.extend_by}")

    @ops_extend_deadline.validator
    def _validate_ops_extend_deadline(self, input: ExtendDeadlineInput) -> None:
        if self.p.tracker.state is not PurchaseState.ACTIVE or not self.p.tracker.waits:
            raise self._refuse("the purchase waits on nothing that has a deadline")

    @workflow.update(name=OpsUpdate.CANCEL)
    def ops_cancel(self, input: OpsCancelInput) -> OpsResult:
        """Cancel with compensation; the fee is waived unless ops say the customer owes it."""
        self.p.cancel_reason = f"by ops ({input.operator}): {input.reason}"
        self.p.cancel_waives_fee = input.waive_fee
        return self._done(input, "cancellation started" + (" (fee waived)" if input.waive_fee else ""))

    @ops_cancel.validator
    def _validate_ops_cancel(self, input: OpsCancelInput) -> None:
        self._require_cancellable()

    @workflow.update(name=OpsUpdate.RESOLVE_UNDO)
    def ops_resolve_undo(self, input: ResolveUndoInput) -> OpsResult:
        """Record that a failed undo was done by hand, with the external reference of what was done."""
        undo = self.p.saga.find_failed(input.undo, input.reference)
        assert undo is not None
        undo.done, undo.resolution = True, f"by hand: {input.external_reference} ({input.operator})"
        return self._done(input, f"{undo.kind.value} {undo.reference} resolved by hand: {input.external_reference}")

    @ops_resolve_undo.validator
    def _validate_ops_resolve_undo(self, input: ResolveUndoInput) -> None:
        if self.p.tracker.state is not PurchaseState.FAILED:
            raise self._refuse("only a failed purchase has undos to resolve")
        if self.p.saga.find_failed(input.undo, input.reference) is None:
            failed = ", ".join(f"{u.kind.value} {u.reference}" for u in self.p.saga.failed())
            raise self._refuse(
                f"no failed undo {input.undo} {input.reference}; failed: {failed or 'none'}", ErrorType.INVALID_ACTION
            )
