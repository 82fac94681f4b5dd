"""Purchases' money moved as carbuy moves it: charges and refunds through the payment activities, the fee kept and
the outcome through the ledger activities, under the keys the purchase workflow uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from temporalio.testing import ActivityEnvironment

from activities.ledger import LedgerActivities
from activities.payments import PaymentActivities
from carbuy.contract.activities import ChargeInput, RefundInput
from carbuy.contract.ledger import RecordCancellationFeeInput, RecordPurchaseOutcomeInput
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.devtools.stripe_cards import create_test_payment_method
from carbuy.runtime.settings import Settings
from carbuy.store.ledger import LedgerKind
from tests.finance.money import Money

Kind = Literal["deposit", "balance"]
DEPOSIT_FEN = 10_000
FEE_FEN = 4_000
PRICE_FEN = 250_000
PRINCIPAL_FEN = 180_000
BALANCE_FEN = PRICE_FEN - DEPOSIT_FEN - PRINCIPAL_FEN


def key(order: str, step: str) -> str:
    """The idempotency key the purchase workflow gives a step."""
    return f"{purchase_workflow_id(order)}:{step}"


class Shop:
    """One test's purchases: carbuy's own activities for what carbuy does, `money` for what a test plants."""

    def __init__(self, settings: Settings, payments: PaymentActivities, ledger: LedgerActivities, money: Money) -> None:
        self.settings = settings
        self.payments = payments
        self.ledger = ledger
        self.money = money

    @staticmethod
    def new_order() -> str:
        """A fresh order id."""
        return f"ORD-{uuid.uuid4().hex[:10]}"

    async def charge(self, order: str, kind: Kind, amount_fen: int) -> str:
        """Charge through the charge activity (first attempt's key); the PaymentIntent id."""
        result = await ActivityEnvironment().run(
            self.payments.charge_payment,
            ChargeInput(
                key=key(order, f"{kind}-1"),
                order_ref=order,
                kind=kind,
                amount_fen=amount_fen,
                payment_method=create_test_payment_method(self.settings.stripe),
                description=f"carbuy {kind}",
            ),
        )
        return result.payment_intent_id

    async def refund(self, order: str, kind: Kind, payment_intent: str, amount_fen: int) -> str:
        """Refund through the refund activity (the undo's key); the refund id."""
        result = await ActivityEnvironment().run(
            self.payments.refund_payment,
            RefundInput(
                key=key(order, f"undo:refund_{kind}:{payment_intent}"),
                order_ref=order,
                kind=kind,
                payment_intent_id=payment_intent,
                amount_fen=amount_fen,
                reason=f"refund_{kind}",
            ),
        )
        return result.refund_id

    async def keep_fee(self, order: str, payment_intent: str, amount_fen: int = FEE_FEN) -> None:
        """Record the part of the deposit kept as the cancellation fee."""
        await ActivityEnvironment().run(
            self.ledger.record_cancellation_fee,
            RecordCancellationFeeInput(
                key=key(order, f"fee:{payment_intent}"),
                order_ref=order,
                payment_intent_id=payment_intent,
                amount_fen=amount_fen,
            ),
        )

    async def ended(self, order: str, state: Literal["completed", "cancelled"], **facts: Any) -> None:
        """Record the purchase's outcome."""
        values: dict[str, Any] = {
            "locked": True,
            "fee_waived": False,
            "handed_over": False,
            "deposit_fen": DEPOSIT_FEN,
            "cancellation_fee_fen": FEE_FEN,
            "price_fen": PRICE_FEN,
            "premium_fen": 0,
            "purchase_tax_fen": 0,
            "plate_fee_fen": 0,
            "loan_principal_fen": 0,
            "balance_due_fen": 0,
            **facts,
        }
        await ActivityEnvironment().run(
            self.ledger.record_purchase_outcome,
            RecordPurchaseOutcomeInput(
                key=key(order, "outcome"), order_ref=order, state=state, ended_at=datetime.now(UTC), **values
            ),
        )

    async def completed_loan_purchase(self) -> str:
        """Deposit and balance charged, the principal disbursed, the car handed over; the order id."""
        order = self.new_order()
        await self.charge(order, "deposit", DEPOSIT_FEN)
        await self.charge(order, "balance", BALANCE_FEN)
        self.money.record(
            order, LedgerKind.LOAN_DISBURSED, PRINCIPAL_FEN, f"disb-{order}", key=key(order, "disbursement")
        )
        await self.ended(
            order, "completed", handed_over=True, loan_principal_fen=PRINCIPAL_FEN, balance_due_fen=BALANCE_FEN
        )
        return order

    async def cancelled_after_lock(self, *, fee_fen: int = FEE_FEN) -> tuple[str, str]:
        """Deposit charged, the fee kept, the rest refunded; the order id and the deposit's PaymentIntent."""
        order = self.new_order()
        deposit = await self.charge(order, "deposit", DEPOSIT_FEN)
        if fee_fen:
            await self.keep_fee(order, deposit, fee_fen)
        await self.refund(order, "deposit", deposit, DEPOSIT_FEN - fee_fen)
        await self.ended(order, "cancelled")
        return order, deposit
