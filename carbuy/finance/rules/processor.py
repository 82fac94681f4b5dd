"""The processor's rules: its objects and the ledger rows of a processor kind, paired by the processor's id."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from carbuy.contract.finance import DiscrepancyType as T
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.finance.model import Discrepancy, LedgerRow
from carbuy.finance.rules.common import PROC, RulesBase, cny, of_ledger, refund_without_charge


class ProcessorRules(RulesBase):
    """Processor objects against the ledger's rows of a processor kind."""

    def processor_pairs(self) -> Iterator[Discrepancy]:
        """Processor objects the ledger records under the same id: a refund of no charge, or another amount."""
        for r in self.s.rows(
            f"SELECT p.reference, p.object, p.order_ref, p.kind AS pkind, p.amount AS pamount, p.charge_ok, "
            f"p.charge_ref, l.purchase_id, l.kind, l.amount "
            f"FROM processor p JOIN ledger l ON l.reference = p.reference AND l.kind IN ({PROC}) "
            f"WHERE (p.object = 'refund' AND p.charge_ok = 0) OR p.amount <> l.amount "
            f"OR (p.kind IS NOT NULL AND p.kind <> l.kind) ORDER BY l.purchase_id, p.id"
        ):
            if r["object"] == "refund" and not r["charge_ok"]:
                explanation = refund_without_charge(r["reference"], r["pamount"], r["charge_ref"], r["order_ref"])
                yield of_ledger(r, T.REFUND_WITHOUT_CHARGE, explanation, r["pamount"])
                continue
            also = f", as {r['pkind']}" if r["pkind"] and r["pkind"] != r["kind"] else ""
            yield of_ledger(
                r,
                T.AMOUNT_MISMATCH,
                f"the ledger records {cny(r['amount'])} as {r['kind']}; the processor moved {cny(r['pamount'])}{also}",
                r["pamount"],
            )
        self.s.execute(
            f"UPDATE processor SET matched = 1 WHERE reference IN (SELECT reference FROM ledger WHERE kind IN ({PROC}))"
        )
        self.s.execute(
            f"UPDATE ledger SET matched = 1 WHERE kind IN ({PROC}) AND reference IN (SELECT reference FROM processor)"
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

        def found(type_: T, explanation: str, expected: int | None = None, kind: str | None = r["kind"]) -> Discrepancy:
            return Discrepancy(
                type=type_,
                purchase_id=pid,
                order_ref=order_ref,
                kind=kind,
                expected_fen=expected,
                actual_fen=amount,
                reference=reference,
                explanation=explanation,
            )

        no_charge = refund_without_charge(reference, amount, r["charge_ref"], order_ref)
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
                return found(T.REFUND_WITHOUT_CHARGE, no_charge, other_day.amount_fen, other_day.kind)
            return None  # booked on the other side of midnight
        if order_ref not in known:
            return found(
                T.PAYMENT_WITHOUT_PURCHASE,
                f"{what} names order {order_ref}, of which carbuy has no ledger row, outcome or payment key",
            )
        if is_refund and not r["charge_ok"]:
            return found(T.REFUND_WITHOUT_CHARGE, no_charge, None, None)
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
            f"WHERE matched = 0 AND kind IN ({PROC}) ORDER BY purchase_id, id"
        ):
            seen = self.processor.find(r["reference"])  # by id: its reference is the row's
            recorded = f"the ledger records {r['kind']} {r['reference']} of {cny(r['amount'])}"
            if seen is None:
                yield of_ledger(r, T.MISSING_AT_PROCESSOR, f"{recorded}; the processor has no such object", None)
            elif not seen.settled:
                yield of_ledger(
                    r, T.MISSING_AT_PROCESSOR, f"{recorded}; at the processor it is {seen.status}: no money moved", 0
                )
            elif seen.amount_fen != r["amount"]:
                yield of_ledger(
                    r, T.AMOUNT_MISMATCH, f"{recorded}; the processor moved {cny(seen.amount_fen)}", seen.amount_fen
                )
            elif seen.object == "refund" and not seen.charge_ok:
                explanation = refund_without_charge(seen.reference, seen.amount_fen, seen.charge_ref, r["order_ref"])
                yield of_ledger(r, T.REFUND_WITHOUT_CHARGE, explanation, seen.amount_fen)
