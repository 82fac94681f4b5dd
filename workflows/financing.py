"""The financing branch: nothing for full payment, a loan decision, a battery lease, or both."""

from __future__ import annotations

from temporalio import workflow

from workflows.calls import call
from workflows.compensation import undo_now
from workflows.context import Purchase, PurchaseEnded
from workflows.patches import OFFER_FULL_PAYMENT
from workflows.waits import call_resendable

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import (
        Activity,
        ApplyForLoanInput,
        ApplyForLoanResult,
        BatteryContractResult,
        CreateBatteryContractInput,
        SubmitLoanDocumentsInput,
        SubmitLoanDocumentsResult,
    )
    from carbuy.contract.events import PartnerEvent
    from carbuy.contract.events import PartnerEventType as E
    from carbuy.contract.order import FinancingPlan
    from carbuy.contract.purchase import Branch, PurchaseStage
    from carbuy.contract.undo import UndoKind
    from carbuy.domain.pricing import loan_principal_fen


async def financing(p: Purchase) -> None:
    """Arrange the plan: nothing for full payment, a loan decision, a battery contract, or both.

    A denied loan (or documents never uploaded) lets the customer switch to full payment within a window.
    """
    order = p.order
    if p.plan.has_loan:
        await _loan(p)
    if p.plan.has_battery_lease:
        p.tracker.branch(Branch.FINANCING, PurchaseStage.FINANCING, "battery contract")
        contract = await call(
            Activity.CREATE_BATTERY_CONTRACT,
            CreateBatteryContractInput(
                key=p.key("battery"),
                order_ref=order.order_id,
                customer_name=order.customer.name,
                model=order.model,
                monthly_rent_fen=p.quote.battery_monthly_rent_fen,
            ),
            BatteryContractResult,
            summary="sign the battery lease",
        )
        p.battery.contract_id = contract.contract_id
        p.record(UndoKind.CANCEL_BATTERY_CONTRACT, contract.contract_id)
    p.tracker.branch_done(Branch.FINANCING, p.plan.value)


async def _loan(p: Purchase) -> None:
    """Apply, give the lender the documents it asks for, and take its decision (or switch to full payment)."""
    order = p.order
    assert p.loan.terms is not None
    application, resend_application = await call_resendable(
        Activity.APPLY_FOR_LOAN,
        ApplyForLoanInput(
            key=p.key("loan"),
            order_ref=order.order_id,
            applicant_name=order.customer.name,
            applicant_id_number=order.customer.id_card_number,
            vehicle_price_fen=p.quote.price_fen,
            down_payment_fen=p.loan.terms.down_payment_fen,
            term_months=p.loan.terms.term_months,
        ),
        ApplyForLoanResult,
        summary="apply for a car loan",
    )
    application_id = p.loan.application_id = application.application_id
    p.record(UndoKind.CANCEL_LOAN, application_id)
    decision: PartnerEvent | None = await p.waits.wait_event(
        "the lender's decision",
        application_id,
        [E.LOAN_APPROVED, E.LOAN_DENIED, E.LOAN_DOCUMENTS_REQUIRED],
        p.policy.loan_decision_sla,
        resend=resend_application,
    )
    if decision is not None and decision.type == E.LOAN_DOCUMENTS_REQUIRED:
        decision = await _documents(p, application_id, str(decision.data.get("documents") or "documents"))
    if decision is None or decision.type == E.LOAN_DENIED:
        denied = decision is not None
        reason = (
            f"loan denied: {decision.data.get('reason')}"
            if decision is not None
            else "the documents the lender asked for were not uploaded in time"
        )
        if denied and not workflow.patched(OFFER_FULL_PAYMENT):  # started before the offer existed
            raise PurchaseEnded(reason, partner_refused=True)
        await _offer_full_payment(p, application_id, reason, denied=denied)
        return
    asked = loan_principal_fen(p.quote.price_fen, p.loan.terms.down_payment_fen, p.policy.min_down_payment_bp)
    approved = decision.data.get("principal_fen")
    p.loan.principal = min(asked, approved) if isinstance(approved, int) else asked
    p.tracker.note(f"loan approved: {p.loan.principal} fen")


async def _documents(p: Purchase, application_id: str, documents: str) -> PartnerEvent | None:
    """The lender asked for documents: the customer uploads them within the window, then the lender decides.

    None when the window passed without them (the loan lapses, as if denied).
    """
    p.loan.documents_asked = documents
    p.tracker.branch(Branch.FINANCING, PurchaseStage.FINANCING, f"the lender asks for {documents}")
    upload_by = workflow.now() + p.policy.loan_documents_window
    await p.notifier.notify("loan_documents_required", documents=documents, upload_by=f"{upload_by:%Y-%m-%d %H:%M} UTC")
    uploaded = await p.waits.wait(
        "the customer to upload loan documents",
        lambda: p.loan.documents is not None,
        p.policy.loan_documents_window,
        expires=True,
    )
    p.loan.documents_asked = None
    if not uploaded:
        return None
    assert p.loan.documents is not None
    _, resend = await call_resendable(
        Activity.SUBMIT_LOAN_DOCUMENTS,
        SubmitLoanDocumentsInput(
            key=p.key("loan-documents"),
            order_ref=p.order.order_id,
            application_id=application_id,
            documents=p.loan.documents.documents,
        ),
        SubmitLoanDocumentsResult,
        summary=f"send the lender {', '.join(p.loan.documents.documents)}",
    )
    return await p.waits.wait_event(
        "the lender's decision",
        application_id,
        [E.LOAN_APPROVED, E.LOAN_DENIED],
        p.policy.loan_decision_sla,
        resend=resend,
    )


async def _offer_full_payment(p: Purchase, application_id: str, reason: str, *, denied: bool) -> None:
    """No loan: the customer may switch to full payment within the window, else the purchase ends with no fee.

    A switch withdraws an application that lapsed (a denied one has nothing left to withdraw).
    """
    p.checkpoint()  # a cancel that came with the lender's answer is the customer's, with its fee rules
    p.loan.refused = reason
    p.cancel_waives_fee = True  # cancelling now is not the customer's fault either
    p.tracker.branch(Branch.FINANCING, PurchaseStage.FINANCING, f"{reason}: the customer may pay in full")
    switch_by = workflow.now() + p.policy.loan_switch_window
    await p.notifier.notify("loan_denied", reason=reason, switch_by=f"{switch_by:%Y-%m-%d %H:%M} UTC")
    switched = await p.waits.wait(
        "the customer to switch to full payment",
        lambda: p.loan.switched_to_full,
        p.policy.loan_switch_window,
        expires=True,
    )
    p.loan.refused = None
    if not switched:
        raise PurchaseEnded(f"{reason}; the customer did not switch to full payment in time", partner_refused=True)
    p.cancel_waives_fee = False
    p.loan.terms = None
    if denied:
        p.saga.settle(UndoKind.CANCEL_LOAN, application_id, "the lender refused the loan: nothing to withdraw")
    else:
        await undo_now(p, UndoKind.CANCEL_LOAN, application_id, "switched to full payment")
    # the plan changes where it is published: the search attribute moves with it, as it always did
    p.plan = FinancingPlan.BATTERY_LEASE if p.plan.has_battery_lease else FinancingPlan.FULL
    p.tracker.locked()
    p.tracker.note(f"switched to full payment: plan {p.plan.value}")
