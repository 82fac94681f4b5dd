"""The lender's rules: its file's lines and the ledger rows of a lender kind, paired by the disbursement id, or
for a principal return by the application id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx

from carbuy.contract.finance import DiscrepancyType as T
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.finance.model import Discrepancy
from carbuy.finance.rules.common import LEND, RulesBase, cny, of_ledger


class LenderRules(RulesBase):
    """The lender's file against the ledger's rows of a lender kind."""

    def lender_pairs(self) -> Iterator[Discrepancy]:
        """Lender lines the ledger records under the same id, with another amount."""
        for r in self.s.rows(
            "SELECT n.reference, n.application_id, n.order_ref, n.kind, n.amount AS namount, "
            "l.purchase_id, l.amount, l.reference AS lref FROM lender n "
            "JOIN ledger l ON l.reference = n.match_ref AND l.kind = n.kind "
            "WHERE n.amount <> l.amount ORDER BY l.purchase_id, n.id"
        ):
            yield of_ledger(
                r,
                T.LENDER_MISMATCH,
                f"the ledger records {r['kind']} {r['lref']} "
                f"of {cny(r['amount'])}; the lender's file books {cny(r['namount'])}",
                r["namount"],
            )
        self.s.execute(
            "UPDATE lender SET matched = 1 WHERE EXISTS (SELECT 1 FROM ledger l "
            "WHERE l.reference = lender.match_ref AND l.kind = lender.kind)"
        )
        self.s.execute(
            f"UPDATE ledger SET matched = 1 WHERE kind IN ({LEND}) AND EXISTS (SELECT 1 FROM lender n "
            f"WHERE n.match_ref = ledger.reference AND n.kind = ledger.kind)"
        )

    def ledger_only_lender(self) -> Iterator[Discrepancy]:
        """Ledger rows of a lender kind not in the day's file: looked for in the files of the days either side."""
        if not self.s.scalar(f"SELECT COUNT(*) FROM ledger WHERE matched = 0 AND kind IN ({LEND})"):
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
            f"WHERE l.matched = 0 AND l.kind IN ({LEND}) ORDER BY l.purchase_id, l.id"
        ):
            if r["near_amount"] == r["amount"]:
                continue
            booked = (
                f"the lender's file of {r['near_day']} books {cny(r['near_amount'])}"
                if r["near_day"]
                else f"the lender's file of {self.day} (and of the days either side) does not list it"
            )
            recorded = f"the ledger records {r['kind']} {r['reference']} of {cny(r['amount'])}"
            yield of_ledger(r, T.LENDER_MISMATCH, f"{recorded}; {booked}", r["near_amount"])

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
