"""The benchmark's day of money, generated deterministically: the ledger (into a real database file), the
processor's objects (Stripe-shaped dicts, produced one at a time) and the lender's settlement lines.

Purchases follow four patterns (by index modulo 10): paid in full (4), paid with a loan (3), cancelled before
lock with the deposit refunded (2), still running with only the deposit paid (1): 1.9 processor objects per
purchase. Every finished purchase ended that day, so the outcome check covers 90% of them. A few purchases of
each discrepancy type are planted, so the run must find exactly those.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from carbuy.contract.finance import DiscrepancyType as T
from carbuy.domain.money import MARKET_TIMEZONE

DAY = date(2026, 11, 11)
START = datetime.combine(DAY, time(), MARKET_TIMEZONE).astimezone(UTC)
DEPOSIT, PRICE, PREMIUM, TAX, PLATE, PRINCIPAL = 10_000, 8_990_000, 95_000, 397_788, 50_000, 7_192_000
FULL_BALANCE = PRICE + PREMIUM + TAX + PLATE - DEPOSIT
LOAN_BALANCE = FULL_BALANCE - PRINCIPAL
OBJECTS_PER_10 = 19


@dataclass(frozen=True)
class Day:
    """How many purchases make `payments` processor objects, and how many discrepancies are planted."""

    payments: int
    plants_per_type: int = 2

    @property
    def purchases(self) -> int:
        """Regular purchases."""
        return self.payments * 10 // OBJECTS_PER_10

    @property
    def plants(self) -> list[tuple[int, T]]:
        """(number, type) of every planted purchase."""
        return [(n, kind) for n, kind in enumerate(list(T) * self.plants_per_type)]

    def created(self, i: int) -> int:
        """A creation time spread over the day for purchase i."""
        return int(START.timestamp()) + i * 86_000 // max(self.purchases, 1)


def order(i: int) -> str:
    """The order id of regular purchase i."""
    return f"B{i:07d}"


def planted(n: int) -> str:
    """The order id of planted purchase n."""
    return f"P{n:05d}"


def pid(order_ref: str) -> str:
    """The purchase (workflow) id."""
    return f"purchase-{order_ref}"


def charge(ref: str, order_ref: str, kind: str, amount: int, created: int, key: str | None = None) -> dict[str, Any]:
    """A succeeded PaymentIntent as Stripe lists it."""
    return {
        "id": ref,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": "cny",
        "status": "succeeded",
        "created": created,
        "metadata": {"order_ref": order_ref, "kind": kind, "key": key or f"{pid(order_ref)}:{kind}"},
    }


def refund(ref: str, order_ref: str, amount: int, created: int, intent: dict[str, Any]) -> dict[str, Any]:
    """A succeeded Refund with its PaymentIntent expanded."""
    return {
        "id": ref,
        "object": "refund",
        "amount": amount,
        "currency": "cny",
        "status": "succeeded",
        "created": created,
        "metadata": {"order_ref": order_ref, "key": f"{pid(order_ref)}:refund"},
        "payment_intent": intent,
    }


KEY_OF = {
    "deposit_charged": "deposit",
    "balance_charged": "balance",
    "deposit_refunded": "refund",
    "loan_disbursed": "disburse",
}
"""The step of the activity that writes each kind: its key is the one the processor's metadata carries."""


def ledger_row(order_ref: str, kind: str, amount: int, reference: str, party: str = "processor") -> dict[str, Any]:
    """A ledger_entries row."""
    at = START + timedelta(hours=12)
    return {
        "purchase_id": pid(order_ref),
        "order_ref": order_ref,
        "kind": kind,
        "key": f"{pid(order_ref)}:{KEY_OF[kind]}",
        "amount_fen": amount,
        "counterparty": party,
        "reference": reference,
        "occurred_at": at,
        "market_day": DAY,
        "created_at": at,
    }


def outcome_row(order_ref: str, state: str, *, locked: bool, principal: int) -> dict[str, Any]:
    """A purchase_outcomes row."""
    at = START + timedelta(hours=20)
    return {
        "purchase_id": pid(order_ref),
        "order_ref": order_ref,
        "state": state,
        "locked": locked,
        "fee_waived": False,
        "handed_over": state == "completed",
        "deposit_fen": DEPOSIT,
        "cancellation_fee_fen": DEPOSIT,
        "price_fen": PRICE,
        "premium_fen": PREMIUM,
        "purchase_tax_fen": TAX,
        "plate_fee_fen": PLATE,
        "loan_principal_fen": principal,
        "balance_due_fen": 0,
        "ended_at": at,
        "market_day": DAY,
        "created_at": at,
    }


def charges(day: Day) -> Iterator[dict[str, Any]]:
    """Every PaymentIntent of the day, in creation order."""
    for i in range(day.purchases):
        o, at, kind = order(i), day.created(i), i % 10
        yield charge(f"pi_{o}_d", o, "deposit", DEPOSIT, at)
        if kind < 7:
            yield charge(f"pi_{o}_b", o, "balance", FULL_BALANCE if kind < 4 else LOAN_BALANCE, at + 1)
    for n, type_ in day.plants:
        o, at = planted(n), day.created(day.purchases - 1)
        if type_ is T.PAYMENT_WITHOUT_PURCHASE:
            yield charge(f"pi_{o}_ghost", f"GHOST-{o}", "deposit", DEPOSIT, at)
        elif type_ in (
            T.MISSING_IN_LEDGER,
            T.MISSING_AT_PROCESSOR,
            T.AMOUNT_MISMATCH,
            T.DUPLICATE_CHARGE,
            T.NET_DIFFERS_FROM_OUTCOME,
            T.REFUND_WITHOUT_CHARGE,
        ):
            yield charge(f"pi_{o}_d", o, "deposit", DEPOSIT, at)
        if type_ is T.MISSING_IN_LEDGER:
            yield charge(f"pi_{o}_b", o, "balance", 500_000, at)
        if type_ is T.DUPLICATE_CHARGE:
            yield charge(f"pi_{o}_d2", o, "deposit", DEPOSIT, at + 5, key=f"{pid(o)}:deposit")


def refunds(day: Day) -> Iterator[dict[str, Any]]:
    """Every Refund of the day, newest first as Stripe lists them (each with its PaymentIntent)."""
    for n, type_ in reversed(day.plants):
        o, at = planted(n), day.created(day.purchases - 1) + 60
        if type_ is T.NET_DIFFERS_FROM_OUTCOME:
            yield refund(f"re_{o}_d", o, DEPOSIT, at, charge(f"pi_{o}_d", o, "deposit", DEPOSIT, at - 60))
        elif type_ is T.REFUND_WITHOUT_CHARGE:
            stranger = {**charge(f"pi_{o}_x", o, "deposit", 5_000, at - 86_400 * 3), "metadata": {}}
            yield refund(f"re_{o}_x", o, 5_000, at, stranger)
    for i in reversed(range(day.purchases)):
        if i % 10 in (7, 8):
            o, at = order(i), day.created(i)
            yield refund(f"re_{o}_d", o, DEPOSIT, at + 2, charge(f"pi_{o}_d", o, "deposit", DEPOSIT, at))


def lender_lines(day: Day) -> Iterator[dict[str, Any]]:
    """The lender's settlement file of the day."""
    for i in range(day.purchases):
        if 4 <= i % 10 < 7:
            yield {
                "type": "disbursement",
                "reference": f"disb_{order(i)}",
                "application_id": f"loan_{order(i)}",
                "order_ref": order(i),
                "amount_fen": PRINCIPAL,
            }
    for n, type_ in day.plants:
        if type_ is T.LENDER_MISMATCH:
            o = planted(n)
            yield {
                "type": "disbursement",
                "reference": f"disb_{o}",
                "application_id": f"loan_{o}",
                "order_ref": o,
                "amount_fen": PRINCIPAL - 100,
            }


def ledger(day: Day) -> Iterator[dict[str, Any]]:
    """Every ledger row of the day."""
    for i in range(day.purchases):
        o, kind = order(i), i % 10
        yield ledger_row(o, "deposit_charged", DEPOSIT, f"pi_{o}_d")
        if kind < 7:
            yield ledger_row(o, "balance_charged", FULL_BALANCE if kind < 4 else LOAN_BALANCE, f"pi_{o}_b")
        if 4 <= kind < 7:
            yield ledger_row(o, "loan_disbursed", PRINCIPAL, f"disb_{o}", "lender")
        if kind in (7, 8):
            yield ledger_row(o, "deposit_refunded", DEPOSIT, f"re_{o}_d")
    for n, type_ in day.plants:
        o = planted(n)
        if type_ in (
            T.MISSING_IN_LEDGER,
            T.MISSING_AT_PROCESSOR,
            T.DUPLICATE_CHARGE,
            T.NET_DIFFERS_FROM_OUTCOME,
            T.REFUND_WITHOUT_CHARGE,
        ):
            yield ledger_row(o, "deposit_charged", DEPOSIT, f"pi_{o}_d")
        if type_ is T.AMOUNT_MISMATCH:
            yield ledger_row(o, "deposit_charged", 1_000, f"pi_{o}_d")
        if type_ is T.MISSING_AT_PROCESSOR:
            yield ledger_row(o, "balance_charged", 500_000, f"pi_{o}_never")
        if type_ is T.NET_DIFFERS_FROM_OUTCOME:
            yield ledger_row(o, "deposit_refunded", DEPOSIT, f"re_{o}_d")
        if type_ is T.REFUND_WITHOUT_CHARGE:
            yield ledger_row(o, "deposit_refunded", 5_000, f"re_{o}_x")
        if type_ is T.LENDER_MISMATCH:
            yield ledger_row(o, "loan_disbursed", PRINCIPAL, f"disb_{o}", "lender")


def outcomes(day: Day) -> Iterator[dict[str, Any]]:
    """Every purchase that ended on the day."""
    for i in range(day.purchases):
        kind = i % 10
        if kind < 7:
            yield outcome_row(order(i), "completed", locked=True, principal=PRINCIPAL if kind >= 4 else 0)
        elif kind < 9:
            yield outcome_row(order(i), "cancelled", locked=False, principal=0)
    for n, type_ in day.plants:
        if type_ is T.NET_DIFFERS_FROM_OUTCOME:  # after lock the fee is kept, yet the deposit went back whole
            yield outcome_row(planted(n), "cancelled", locked=True, principal=0)
