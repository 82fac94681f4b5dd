"""The rules that turn the day's differences into discrepancies; every movement lands in at most one.

Processor objects and ledger rows are paired by the processor's id (pi_…, re_…); lender lines and ledger rows
by the disbursement id, or for a principal return by the application id. What pairs up is checked for its
amount; what does not is looked up once more in carbuy's database (any day) or at the counterparty (by id),
because a movement can be booked on one side of midnight and happen on the other. What still has no partner
is classified, most specific cause first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta

import httpx

from carbuy.contract.finance import DiscrepancyType as T
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.finance.book import LedgerBook
from carbuy.finance.lender import LenderSource
from carbuy.finance.model import Discrepancy, LedgerRow, OutcomeNets
from carbuy.finance.processor import ProcessorSource
from carbuy.finance.scratch import LENDER_KINDS, PROCESSOR_KINDS, Scratch

_PROC = ", ".join(f"'{kind}'" for kind in PROCESSOR_KINDS)
_LEND = ", ".join(f"'{kind}'" for kind in LENDER_KINDS)


def cny(fen: int | None) -> str:
    """An amount for people: 1,234.50 CNY."""
    if fen is None:
        return "nothing"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d} CNY"


class Rules:
    """Classifies one day's differences, reading the scratch database, carbuy's database and the counterparties."""

    def __init__(
        self, scratch: Scratch, *, book: LedgerBook, processor: ProcessorSource, lender: LenderSource, day: date
    ) -> None:
        self.s = scratch
        self.book = book
        self.processor = processor
        self.lender = lender
        self.day = day

    def processor_pairs(self) -> Iterator[Discrepancy]:
        """Processor objects the ledger records under the same id: a refund of no charge, or another amount."""
        for r in self.s.rows(
            f"SELECT p.reference, p.object, p.order_ref, p.kind AS pkind, p.amount AS pamount, p.charge_ok, "
            f"p.charge_ref, l.purchase_id, l.kind AS lkind, l.amount AS lamount "
            f"FROM processor p JOIN ledger l ON l.reference = p.reference AND l.kind IN ({_PROC}) "
            f"WHERE (p.object = 'refund' AND p.charge_ok = 0) OR p.amount <> l.amount "
            f"OR (p.kind IS NOT NULL AND p.kind <> l.kind) ORDER BY l.purchase_id, p.id"
        ):
            if r["object"] == "refund" and not r["charge_ok"]:
                yield self._refund_without_charge(
                    r["purchase_id"],
                    r["order_ref"],
                    r["lkind"],
                    r["lamount"],
                    r["pamount"],
                    r["reference"],
                    r["charge_ref"],
                )
                continue
            also = f", as {r['pkind']}" if r["pkind"] and r["pkind"] != r["lkind"] else ""
            yield Discrepancy(
                type=T.AMOUNT_MISMATCH,
                purchase_id=r["purchase_id"],
                order_ref=r["order_ref"],
                kind=r["lkind"],
                expected_fen=r["lamount"],
                actual_fen=r["pamount"],
                reference=r["reference"],
                explanation=f"the ledger records {cny(r['lamount'])} as "
                f"{r['lkind']}; the processor moved {cny(r['pamount'])}{also}",
            )
        self.s.execute(
            f"UPDATE processor SET matched = 1 WHERE reference IN "
            f"(SELECT reference FROM ledger WHERE kind IN ({_PROC}))"
        )
        self.s.execute(
            f"UPDATE ledger SET matched = 1 WHERE kind IN ({_PROC}) AND reference IN (SELECT reference FROM processor)"
        )

    def processor_only(self) -> Iterator[Discrepancy]:
        """Processor objects with no ledger row of the day."""
        for chunk in self.s.chunks("SELECT * FROM processor WHERE matched = 0 ORDER BY id"):
            order_refs = {r["order_ref"] for r in chunk}
            known = self.book.known_purchases(order_refs)
            rows = self.book.rows_of_purchases({purchase_workflow_id(ref) for ref in order_refs})
            by_ref = {row.reference: row for row in rows}
            by_key = {(row.purchase_id, row.kind, row.key): row for row in rows}
            for r in chunk:
                found = self._processor_only(r, known, by_ref, by_key)
                if found is not None:
                    yield found

    def _processor_only(
        self,
        r: sqlite3.Row,
        known: set[str],
        by_ref: dict[str, LedgerRow],
        by_key: dict[tuple[str, str, str], LedgerRow],
    ) -> Discrepancy | None:
        order_ref, reference, amount = r["order_ref"], r["reference"], r["amount"]
        is_refund = r["object"] == "refund"
        pid = purchase_workflow_id(order_ref)
        what = f"{r['object']} {reference} of {cny(amount)}"

        def found(type_: T, explanation: str, expected: int | None = None) -> Discrepancy:
            return Discrepancy(
                type=type_,
                purchase_id=pid,
                order_ref=order_ref,
                kind=r["kind"],
                expected_fen=expected,
                actual_fen=amount,
                reference=reference,
                explanation=explanation,
            )

        other_day = by_ref.get(reference)
        if other_day is not None:
            if other_day.amount_fen != amount:
                return found(
                    T.AMOUNT_MISMATCH,
                    f"the ledger records {cny(other_day.amount_fen)} on "
                    f"{other_day.market_day}; the processor moved {cny(amount)}",
                    other_day.amount_fen,
                )
            if is_refund and not r["charge_ok"]:
                return self._refund_without_charge(
                    pid, order_ref, other_day.kind, other_day.amount_fen, amount, reference, r["charge_ref"]
                )
            return None  # booked on the other side of midnight
        if order_ref not in known:
            return found(
                T.PAYMENT_WITHOUT_PURCHASE,
                f"{what} names order {order_ref}, of which carbuy has no ledger row, outcome or payment key",
            )
        if is_refund and not r["charge_ok"]:
            return self._refund_without_charge(pid, order_ref, None, None, amount, reference, r["charge_ref"])
        if not is_refund:
            twin = by_key.get((pid, r["kind"], r["key"]))
            twin_ref = (
                twin.reference
                if twin is not None
                else self.s.scalar(
                    "SELECT reference FROM processor WHERE object = 'charge' AND order_ref = ? AND key = ? AND id <> ? "
                    "AND (matched = 1 OR id < ?) ORDER BY id LIMIT 1",
                    order_ref,
                    r["key"],
                    r["id"],
                    r["id"],
                )
            )
            if twin_ref is not None and twin_ref != reference:
                return found(
                    T.DUPLICATE_CHARGE,
                    f"{what} is a second succeeded charge for key {r['key']}, already charged by {twin_ref}",
                )
        return found(T.MISSING_IN_LEDGER, f"the processor moved {what}; the ledger has no row for it")

    def ledger_only(self) -> Iterator[Discrepancy]:
        """Ledger rows of a processor kind whose object is not among the processor's of the day."""
        for r in self.s.rows(
            f"SELECT purchase_id, order_ref, kind, key, reference, amount FROM ledger "
            f"WHERE matched = 0 AND kind IN ({_PROC}) ORDER BY purchase_id, id"
        ):
            seen = self.processor.find(r["reference"])
            recorded = f"the ledger records {r['kind']} {r['reference']} of {cny(r['amount'])}"
            if seen is None:
                yield _of_ledger(r, T.MISSING_AT_PROCESSOR, f"{recorded}; the processor has no such object", None)
            elif not seen.settled:
                yield _of_ledger(
                    r, T.MISSING_AT_PROCESSOR, f"{recorded}; at the processor it is {seen.status}: no money moved", 0
                )
            elif seen.amount_fen != r["amount"]:
                yield _of_ledger(
                    r, T.AMOUNT_MISMATCH, f"{recorded}; the processor moved {cny(seen.amount_fen)}", seen.amount_fen
                )
            elif seen.object == "refund" and not seen.charge_ok:
                yield self._refund_without_charge(
                    r["purchase_id"],
                    r["order_ref"],
                    r["kind"],
                    r["amount"],
                    seen.amount_fen,
                    seen.reference,
                    seen.charge_ref,
                )

    def lender_pairs(self) -> Iterator[Discrepancy]:
        """Lender lines the ledger records under the same id, with another amount."""
        for r in self.s.rows(
            "SELECT n.reference, n.application_id, n.order_ref, n.kind, n.amount AS namount, "
            "l.purchase_id, l.amount AS lamount, l.reference AS lref FROM lender n "
            "JOIN ledger l ON l.reference = n.match_ref AND l.kind = n.kind "
            "WHERE n.amount <> l.amount ORDER BY l.purchase_id, n.id"
        ):
            yield Discrepancy(
                type=T.LENDER_MISMATCH,
                purchase_id=r["purchase_id"],
                order_ref=r["order_ref"],
                kind=r["kind"],
                expected_fen=r["lamount"],
                actual_fen=r["namount"],
                reference=r["reference"],
                explanation=f"the ledger records {r['kind']} {r['lref']} "
                f"of {cny(r['lamount'])}; the lender's file books {cny(r['namount'])}",
            )
        self.s.execute(
            "UPDATE lender SET matched = 1 WHERE EXISTS (SELECT 1 FROM ledger l "
            "WHERE l.reference = lender.match_ref AND l.kind = lender.kind)"
        )
        self.s.execute(
            f"UPDATE ledger SET matched = 1 WHERE kind IN ({_LEND}) AND EXISTS (SELECT 1 FROM lender n "
            f"WHERE n.match_ref = ledger.reference AND n.kind = ledger.kind)"
        )

    def ledger_only_lender(self) -> Iterator[Discrepancy]:
        """Ledger rows of a lender kind not in the day's file: looked for in the files of the days either side."""
        if not self.s.scalar(f"SELECT COUNT(*) FROM ledger WHERE matched = 0 AND kind IN ({_LEND})"):
            return
        for near in (self.day - timedelta(days=1), self.day + timedelta(days=1)):
            try:
                self.s.load_lender_near(self.lender.lines(near))
            except httpx.HTTPStatusError as error:
                if error.response.status_code != 404:  # a day the lender has no file for yet
                    raise
        for r in self.s.rows(
            f"SELECT l.purchase_id, l.order_ref, l.kind, l.reference, l.amount, "
            f"near.amount AS near_amount, near.day AS near_day FROM ledger l LEFT JOIN lender_near "
            f"near ON near.match_ref = l.reference AND near.kind = l.kind "
            f"WHERE l.matched = 0 AND l.kind IN ({_LEND}) ORDER BY l.purchase_id, l.id"
        ):
            if r["near_amount"] == r["amount"]:
                continue
            booked = (
                f"the lender's file of {r['near_day']} books {cny(r['near_amount'])}"
                if r["near_day"]
                else f"the lender's file of {self.day} (and of the days either side) does not list it"
            )
            yield Discrepancy(
                type=T.LENDER_MISMATCH,
                purchase_id=r["purchase_id"],
                order_ref=r["order_ref"],
                kind=r["kind"],
                expected_fen=r["amount"],
                actual_fen=r["near_amount"],
                reference=r["reference"],
                explanation=f"the ledger records {r['kind']} {r['reference']} of {cny(r['amount'])}; {booked}",
            )

    def lender_only(self) -> Iterator[Discrepancy]:
        """Lender lines with no ledger row of the day: looked for on every day of the purchase's ledger."""
        for chunk in self.s.chunks("SELECT * FROM lender WHERE matched = 0 ORDER BY id"):
            rows = self.book.rows_of_purchases({purchase_workflow_id(r["order_ref"]) for r in chunk})
            booked = {(row.kind, row.reference): row for row in rows}
            for r in chunk:
                other_day = booked.get((r["kind"], r["match_ref"]))
                if other_day is not None and other_day.amount_fen == r["amount"]:
                    continue
                lists = f"the lender's file lists {r['kind']} {r['reference']} of {cny(r['amount'])}"
                yield Discrepancy(
                    type=T.LENDER_MISMATCH,
                    purchase_id=purchase_workflow_id(r["order_ref"]),
                    order_ref=r["order_ref"],
                    kind=r["kind"],
                    expected_fen=other_day.amount_fen if other_day else None,
                    actual_fen=r["amount"],
                    reference=r["reference"],
                    explanation=(
                        f"{lists}; the ledger records {cny(other_day.amount_fen)} on {other_day.market_day}"
                        if other_day
                        else f"{lists}; the ledger has no row for it"
                    ),
                )

    def net_differs(self, nets: OutcomeNets) -> Discrepancy | None:
        """A purchase that ended on the day, if its ledger's nets are not what its outcome should cost."""
        processor_off = nets.ledger_processor_fen != nets.expected_processor_fen
        lender_off = nets.ledger_lender_fen != nets.expected_lender_fen
        if not (processor_off or lender_off):
            return None
        parts = [
            f"{name} net {cny(actual)} where a {nets.state} purchase should net {cny(expected)}"
            for name, off, actual, expected in (
                ("processor", processor_off, nets.ledger_processor_fen, nets.expected_processor_fen),
                ("lender", lender_off, nets.ledger_lender_fen, nets.expected_lender_fen),
            )
            if off
        ]
        expected, actual = (
            (nets.expected_processor_fen, nets.ledger_processor_fen)
            if processor_off
            else (nets.expected_lender_fen, nets.ledger_lender_fen)
        )
        return Discrepancy(
            type=T.NET_DIFFERS_FROM_OUTCOME,
            purchase_id=nets.purchase_id,
            order_ref=nets.order_ref,
            kind="processor net" if processor_off else "lender net",
            expected_fen=expected,
            actual_fen=actual,
            explanation=f"its ledger shows a {'; and a '.join(parts)}",
        )

    def _refund_without_charge(
        self,
        purchase_id: str,
        order_ref: str,
        kind: str | None,
        expected: int | None,
        actual: int,
        reference: str,
        charge_ref: str | None,
    ) -> Discrepancy:
        refunded = f"PaymentIntent {charge_ref}" if charge_ref else "no PaymentIntent"
        return Discrepancy(
            type=T.REFUND_WITHOUT_CHARGE,
            purchase_id=purchase_id,
            order_ref=order_ref,
            kind=kind,
            expected_fen=expected,
            actual_fen=actual,
            reference=reference,
            explanation=f"refund {reference} of {cny(actual)} takes money back from {refunded}, "
            f"which is not a succeeded carbuy charge of order {order_ref}",
        )


def _of_ledger(r: sqlite3.Row, type_: T, explanation: str, actual: int | None) -> Discrepancy:
    """A discrepancy about a ledger row of the day."""
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
