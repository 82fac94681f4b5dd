"""The reconciliation of one day: spill the three sides, pair them, classify what differs, total it up.

Memory does not grow with the day's size: each side streams into the scratch database a batch at a time
(see carbuy.finance.scratch), matching happens in SQLite, and only the differences come back to Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from carbuy.contract.finance import DiscrepancyType
from carbuy.domain.money import MARKET_TIMEZONE
from carbuy.finance.book import LedgerBook
from carbuy.finance.lender import LenderSource
from carbuy.finance.model import Direction, Discrepancy, KindTotal, Progress, ReconciliationReport, no_progress
from carbuy.finance.processor import ProcessorSource
from carbuy.finance.rules import Rules
from carbuy.finance.scratch import Scratch, scratch
from carbuy.store.ledger import Counterparty, LedgerKind

DIRECTION: dict[LedgerKind, Direction] = {
    LedgerKind.DEPOSIT_CHARGED: "in",
    LedgerKind.BALANCE_CHARGED: "in",
    LedgerKind.LOAN_DISBURSED: "in",
    LedgerKind.DEPOSIT_REFUNDED: "out",
    LedgerKind.BALANCE_REFUNDED: "out",
    LedgerKind.PRINCIPAL_RETURNED: "out",
    LedgerKind.CANCELLATION_FEE_KEPT: "info",
    LedgerKind.SHIPMENT_CANCELLATION_FEE: "info",
}
COUNTERPARTY = {
    LedgerKind.LOAN_DISBURSED: Counterparty.LENDER,
    LedgerKind.PRINCIPAL_RETURNED: Counterparty.LENDER,
    LedgerKind.SHIPMENT_CANCELLATION_FEE: Counterparty.CARRIER,
}
UNKNOWN_REFUND = "refund_of_no_carbuy_charge"
"""The processor total of refunds whose PaymentIntent is not a carbuy charge."""

_ORDER = {kind: number for number, kind in enumerate(DiscrepancyType)}


def day_window(day: date) -> tuple[datetime, datetime]:
    """The Asia/Shanghai day as a UTC interval [start, end)."""
    start = datetime.combine(day, time(), MARKET_TIMEZONE)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def reconcile(
    day: date,
    *,
    book: LedgerBook,
    processor: ProcessorSource,
    lender: LenderSource,
    progress: Progress = no_progress,
    workdir: Path | None = None,
) -> ReconciliationReport:
    """Compare the ledger of a day with the processor's and the lender's records of it; every discrepancy."""
    start, end = day_window(day)
    with scratch(workdir) as s:
        expected_rows = book.count_day(day)
        progress("ledger rows", 0, expected_rows)
        ledger_rows = s.load_ledger(book.day_rows(day), lambda n: progress("ledger rows", n, expected_rows))
        progress("processor objects", 0, None)
        processor_objects = s.load_processor(
            processor.objects(start, end), lambda n: progress("processor objects", n, None)
        )
        progress("lender lines", 0, None)
        lender_lines = s.load_lender(lender.lines(day), lambda n: progress("lender lines", n, None))
        s.index()
        rules = Rules(s, book=book, processor=processor, lender=lender, day=day)
        found = _counted(
            progress,
            "matching",
            rules.processor_pairs(),
            rules.processor_only(),
            rules.ledger_only(),
            rules.lender_pairs(),
            rules.ledger_only_lender(),
            rules.lender_only(),
        )
        ended = book.count_ended(day)
        progress("ended purchases", 0, ended)
        purchases_ended = 0
        for purchases_ended, nets in enumerate(book.outcome_nets(day), start=1):
            differs = rules.net_differs(nets)
            if differs is not None:
                found.append(differs)
            if purchases_ended % 1_000 == 0:
                progress("ended purchases", purchases_ended, ended)
        progress("ended purchases", purchases_ended, ended)
        totals = _totals(s)
    found.sort(key=lambda d: (_ORDER[d.type], d.purchase_id, d.reference or ""))
    return ReconciliationReport(
        day=day,
        generated_at=datetime.now(UTC),
        ledger_rows=ledger_rows,
        processor_objects=processor_objects,
        lender_lines=lender_lines,
        purchases_ended=purchases_ended,
        skipped_objects=processor.skipped,
        totals=totals,
        discrepancies=found,
    )


def _counted(progress: Progress, phase: str, *steps: Iterator[Discrepancy]) -> list[Discrepancy]:
    """Run the matching steps in order (each reads what the previous marked matched)."""
    found: list[Discrepancy] = []
    for done, step in enumerate(steps):
        progress(phase, done, len(steps))
        found.extend(step)
    progress(phase, len(steps), len(steps))
    return found


def _totals(s: Scratch) -> list[KindTotal]:
    """Count and sum per kind: the ledger's, and the processor's or the lender's for the same kind."""
    ledger = {
        r["kind"]: (r["n"], r["fen"])
        for r in s.rows("SELECT kind, COUNT(*) AS n, SUM(amount) AS fen FROM ledger GROUP BY kind")
    }
    counterpart = {
        r["kind"] or UNKNOWN_REFUND: (r["n"], r["fen"])
        for r in s.rows("SELECT kind, COUNT(*) AS n, SUM(amount) AS fen FROM processor GROUP BY kind")
    }
    counterpart.update(
        {
            r["kind"]: (r["n"], r["fen"])
            for r in s.rows("SELECT kind, COUNT(*) AS n, SUM(amount) AS fen FROM lender GROUP BY kind")
        }
    )
    totals = []
    for kind in LedgerKind:
        party = COUNTERPARTY.get(kind, Counterparty.PROCESSOR)
        reconciled = DIRECTION[kind] != "info" and party != Counterparty.CARRIER
        count, fen = ledger.get(kind.value, (0, 0))
        other = counterpart.get(kind.value, (0, 0)) if reconciled else (None, None)
        totals.append(
            KindTotal(
                kind=kind.value,
                direction=DIRECTION[kind],
                counterparty=party.value,
                ledger_count=count,
                ledger_fen=fen,
                counterpart_count=other[0],
                counterpart_fen=other[1],
            )
        )
    if UNKNOWN_REFUND in counterpart:
        count, fen = counterpart[UNKNOWN_REFUND]
        totals.append(
            KindTotal(
                kind=UNKNOWN_REFUND,
                direction="out",
                counterparty=Counterparty.PROCESSOR.value,
                counterpart_count=count,
                counterpart_fen=fen,
            )
        )
    return totals
