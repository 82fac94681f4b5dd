"""What every rule family shares: the amounts for people, the rules' inputs and the discrepancies built from rows."""

from __future__ import annotations

import sqlite3
from datetime import date

from carbuy.contract.finance import DiscrepancyType as T
from carbuy.finance.book import LedgerBook
from carbuy.finance.lender import LenderSource
from carbuy.finance.model import Discrepancy
from carbuy.finance.processor import ProcessorSource
from carbuy.finance.scratch import LENDER_KINDS, PROCESSOR_KINDS, Scratch

PROC = ", ".join(f"'{kind}'" for kind in PROCESSOR_KINDS)
LEND = ", ".join(f"'{kind}'" for kind in LENDER_KINDS)


def cny(fen: int | None) -> str:
    """An amount for people: 1,234.50 CNY."""
    if fen is None:
        return "nothing"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d} CNY"


class RulesBase:
    """The inputs of one day's rules: the scratch database, carbuy's database and the counterparties."""

    def __init__(
        self, scratch: Scratch, *, book: LedgerBook, processor: ProcessorSource, lender: LenderSource, day: date
    ) -> None:
        self.s = scratch
        self.book = book
        self.processor = processor
        self.lender = lender
        self.day = day


def of_ledger(r: sqlite3.Row, type_: T, explanation: str, actual: int | None) -> Discrepancy:
    """A discrepancy about a row of the day carrying a ledger row's purchase_id, order_ref, kind and amount.

    Its reference is the row's reference (the ledger's, or the counterparty's it was paired with).
    """
    return Discrepancy(
        type=type_,
        purchase_id=r["purchase_id"],
        order_ref=r["order_ref"],
        kind=r["kind"],
        expected_fen=r["amount"],
        actual_fen=actual,
        reference=r["reference"],
        explanation=explanation,
    )


def refund_without_charge(reference: str, amount: int, charge_ref: str | None, order_ref: str) -> str:
    """Why a refund is a REFUND_WITHOUT_CHARGE."""
    refunded = f"PaymentIntent {charge_ref}" if charge_ref else "no PaymentIntent"
    return (
        f"refund {reference} of {cny(amount)} takes money back from {refunded}, "
        f"which is not a succeeded carbuy charge of order {order_ref}"
    )
