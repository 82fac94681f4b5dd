"""Ending a purchase: run the recorded undos with the fee rules, and record its outcome for finance."""

from __future__ import annotations

from typing import Literal

from temporalio import workflow

from workflows.calls import BOOKKEEPING_FAILED, UNDO_RETRY, bookkeep, call
from workflows.context import Purchase
from workflows.patches import COMPENSATION_CLEARS_ATTENTION
from workflows.saga import UNDO_CALLS, Undo

with workflow.unsafe.imports_passed_through():
    from carbuy.contract import activities as a
    from carbuy.contract.ledger import (
        RecordCancellationFeeInput,
        RecordCancellationFeeResult,
        RecordPurchaseOutcomeInput,
        RecordPurchaseOutcomeResult,
    )
    from carbuy.contract.purchase import PurchaseStage, PurchaseState
    from carbuy.contract.undo import UndoKind
    from carbuy.domain.pricing import cancellation_refund_fen

Outcome = Literal["completed", "cancelled", "failed"]


async def compensate(p: Purchase, reason: str, *, waive_fee: bool) -> None:
    """Run the recorded undos; the cancellation fee is kept only when the customer chose to cancel.

    An undo that still fails after its retries leaves the purchase failed and flagged for ops, open until
    ops retry it (run again) or resolve it by hand; then the purchase ends cancelled.
    """
    p.tracker.end(PurchaseState.COMPENSATING, p.tracker.stage, reason)
    if workflow.patched(COMPENSATION_CLEARS_ATTENTION):  # what it waited on is moot now
        p.tracker.clear_attention(f"no longer needs attention: {reason}")
    run = lambda u: undo(p, u, waive_fee=waive_fee)  # noqa: E731
    failed = await p.saga.compensate(run)
    while failed:
        detail = "; ".join(f"{u.kind.value} {u.reference}: {u.error}" for u in failed)
        p.tracker.end(PurchaseState.FAILED, PurchaseStage.FAILED, f"{reason}; undo failed: {detail}")
        p.tracker.flag("undo", f"undo failed: {detail}", workflow.now())
        await p.notifier.ops(
            f"undo failed: {detail}", since=f"{workflow.now():%Y-%m-%d %H:%M}", key=f"undo-{p.waits.retry_round}"
        )
        seen = p.waits.retry_round
        await workflow.wait_condition(lambda s=seen: p.waits.retry_round != s or not p.saga.failed())  # type: ignore[misc]
        p.tracker.end(PurchaseState.COMPENSATING, PurchaseStage.FAILED, reason)
        failed = await p.saga.compensate(run)
    p.tracker.unflag("undo", "every undo done")
    if p.deposit is not None and p.deposit.outcome == "paid":  # else no money moved: nothing for finance
        await record_outcome(p, "cancelled", fee_waived=waive_fee)
        p.tracker.end(PurchaseState.CANCELLED, PurchaseStage.CANCELLED, reason)
        await p.notifier.notify("purchase_cancelled", reason=reason, refund_fen=p.tracker.amounts.refunded)
    else:
        p.tracker.end(PurchaseState.CANCELLED, PurchaseStage.CANCELLED, reason)


async def undo(p: Purchase, undo: Undo, *, waive_fee: bool) -> None:
    """Run one undo (idempotent by its key); a deposit refund keeps the fee where the rules say so."""
    ref, order_ref = undo.reference, p.order.order_id
    key = p.key(f"undo:{undo.kind.value}:{ref}")
    if undo.kind in (UndoKind.REFUND_DEPOSIT, UndoKind.REFUND_BALANCE):
        amount = undo.amount_fen
        kind: Literal["deposit", "balance"] = "balance"
        if undo.kind is UndoKind.REFUND_DEPOSIT:
            kind = "deposit"
            amount = cancellation_refund_fen(
                deposit_paid_fen=undo.amount_fen,
                locked=p.locked,
                partner_refused=waive_fee,
                fee_fen=p.policy.cancellation_fee_fen,
            )
            if undo.amount_fen > amount:
                fee = RecordCancellationFeeInput(
                    key=p.key(f"fee:{ref}"),
                    order_ref=order_ref,
                    payment_intent_id=ref,
                    amount_fen=undo.amount_fen - amount,
                )
                await call(
                    a.Activity.RECORD_CANCELLATION_FEE,
                    fee,
                    RecordCancellationFeeResult,
                    summary=f"record the {fee.amount_fen} fen cancellation fee",
                    retry=UNDO_RETRY,
                )
        if amount > 0:
            refund = a.RefundInput(
                key=key,
                order_ref=order_ref,
                payment_intent_id=ref,
                amount_fen=amount,
                reason=undo.kind.value,
                kind=kind,
            )
            await call(
                a.Activity.REFUND, refund, a.RefundResult, summary=f"{undo.kind.value} {amount} fen", retry=UNDO_RETRY
            )
            p.money.refunded += amount
    else:
        activity, build, result_type, summary = UNDO_CALLS[undo.kind]
        result = await call(activity, build(key, order_ref, ref), result_type, summary=summary, retry=UNDO_RETRY)
        if isinstance(result, a.CancelShipmentResult) and result.fee_fen:
            p.tracker.note(f"carrier charged a cancellation fee of {result.fee_fen} fen")
    p.tracker.note(f"undone: {undo.kind.value} {ref}")


async def undo_now(p: Purchase, kind: UndoKind, reference: str, why: str) -> None:
    """Undo one step while the purchase goes on (a damaged car's VIN, the policy of a VIN that was replaced).

    It is a forward step: a partner that is down is waited for. The key is the one compensation would use, so
    the partner does it once whichever runs it.
    """
    activity, build, result_type, summary = UNDO_CALLS[kind]
    await call(
        activity,
        build(p.key(f"undo:{kind.value}:{reference}"), p.order.order_id, reference),
        result_type,
        summary=f"{summary} ({why})",
    )
    p.saga.settle(kind, reference, why)
    p.tracker.note(f"undone: {kind.value} {reference} ({why})")


async def record_outcome(p: Purchase, state: Outcome, *, fee_waived: bool = False) -> None:
    """Tell finance how the purchase ended and with which money (reconciliation checks the ledger against it).

    Failing to record is noted, never stops the purchase: the day's reconciliation then reports it.
    """
    q, t = p.quote, p.tracker
    paid_deposit = p.deposit is not None and p.deposit.outcome == "paid"
    outcome = RecordPurchaseOutcomeInput(
        key=p.key("outcome"),
        order_ref=p.order.order_id,
        state=state,
        locked=p.locked,
        fee_waived=fee_waived,
        handed_over=p.handover.done,
        deposit_fen=q.deposit_fen if paid_deposit else 0,
        cancellation_fee_fen=p.policy.cancellation_fee_fen,
        price_fen=q.price_fen,
        premium_fen=p.insurance.premium,
        purchase_tax_fen=q.purchase_tax_fen,
        plate_fee_fen=q.plate_fee_fen,
        loan_principal_fen=p.loan.disbursed_fen,
        balance_due_fen=t.amounts.balance_due,
        ended_at=workflow.now(),
    )
    try:
        await bookkeep(
            a.Activity.RECORD_PURCHASE_OUTCOME,
            outcome,
            RecordPurchaseOutcomeResult,
            summary=f"record outcome {state}",
            retry=UNDO_RETRY,
        )
    except BOOKKEEPING_FAILED as err:
        t.note(f"outcome not recorded: {err.cause or err}")
