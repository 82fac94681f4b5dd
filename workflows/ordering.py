"""Deposit and lock: the customer's first two steps."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from temporalio import workflow

from workflows.calls import call, refusal
from workflows.context import Purchase, PurchaseEnded
from workflows.records import Payment
from workflows.tracker import deadline_left

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import Activity, ChargeInput, ChargeResult
    from carbuy.contract.public import public
    from carbuy.contract.purchase import PurchaseStage
    from carbuy.contract.undo import UndoKind


PaymentKind = Literal["deposit", "balance"]

DECLINE_COOL_DOWN = timedelta(seconds=1)
"""After a decline, a new attempt is admitted only once this durable timer fired: from a later workflow task
than the one that took the decline, so a replay meets the retry after the decline, as the live run did."""


async def pay(p: Purchase, kind: PaymentKind, amount_fen: int, attempt: Payment) -> ChargeResult | None:
    """Charge a payment the customer submitted; a decline is told to the customer, who may try again.

    Each attempt has its own idempotency key: the processor keeps a declined key declined.
    """
    p.payment_attempts[kind] = attempt_no = p.payment_attempts.get(kind, 0) + 1
    try:
        result = await call(
            Activity.CHARGE,
            ChargeInput(
                key=p.key(f"{kind}-{attempt_no}"),
                order_ref=p.order.order_id,
                kind=kind,
                amount_fen=amount_fen,
                payment_method=attempt.payment_method,
                description=f"carbuy {kind} for order {p.order.order_id}",
            ),
            ChargeResult,
            summary=f"charge {kind} {amount_fen} fen",
        )
    except Exception as err:
        refused = refusal(err)
        if refused is None:
            raise
        attempt.outcome, attempt.message = "declined", refused.message
        p.tracker.note(f"{kind} payment declined: {refused.message}")
        return None
    attempt.outcome, attempt.message = "paid", f"{kind} paid: {result.amount_fen} fen"
    p.money.paid += result.amount_fen
    p.tracker.note(attempt.message)
    return result


async def deposit(p: Purchase) -> None:
    """Wait for the deposit within its window (else the purchase expires, nothing to undo) and charge it."""
    p.tracker.enter(PurchaseStage.DEPOSIT)
    deadline = workflow.now() + p.policy.deposit_window
    while True:
        pending = lambda: p.deposit is not None and p.deposit.outcome is None  # noqa: E731
        if not await p.waits.wait("the customer to pay the deposit", pending, deadline_left(deadline), expires=True):
            raise PurchaseEnded("expired: the deposit was not paid in time")
        assert p.deposit is not None
        result = await pay(p, "deposit", p.quote.deposit_fen, p.deposit)
        if result is None and p.in_time:
            # the customer acted in time: a charge that outlasted the window still leaves time to pay again
            await cool_down(p, "deposit")
            deadline = max(deadline, workflow.now() + p.policy.retry_after_decline)
        if result is not None:
            p.record(UndoKind.REFUND_DEPOSIT, result.payment_intent_id, result.amount_fen)
            p.tracker.enter(PurchaseStage.LOCK)
            p.deposit.settled = True
            lock_by = workflow.now() + p.policy.lock_window
            await p.notifier.notify(
                "deposit_received", amount_fen=result.amount_fen, lock_by=f"{lock_by:%Y-%m-%d %H:%M} UTC"
            )
            return


async def cool_down(p: Purchase, kind: PaymentKind) -> None:
    """A payment was declined: admit the next attempt once a short durable timer fired (IN_TIME_ACTIONS)."""
    p.cooling_down.add(kind)
    try:
        await workflow.sleep(DECLINE_COOL_DOWN, summary=public(f"{kind} declined: cool-down before a new attempt"))
    finally:
        p.cooling_down.discard(kind)


async def lock(p: Purchase) -> None:
    """Wait for the customer to lock trim, colour, delivery centre and plan; else expire with a full refund."""
    p.tracker.enter(PurchaseStage.LOCK)
    if not await p.waits.wait("the customer to lock the order", lambda: p.locked, p.policy.lock_window, expires=True):
        raise PurchaseEnded("expired: the order was not locked in time")
    p.tracker.note(f"locked: plan {p.plan.value}, delivery centre {p.delivery_centre}")
    await p.notifier.notify("order_locked", plan=p.plan.value)
