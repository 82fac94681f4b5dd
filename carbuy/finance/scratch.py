"""The reconciliation's scratch database: each side of a day spilled into a temporary SQLite file.

Why spill instead of matching in memory: a day can hold hundreds of thousands of movements on each side,
and the three sides arrive in different orders (the ledger by purchase, Stripe by creation time, the lender
by booking time). A sort-merge would need each stream sorted by the same key, which Stripe's list API cannot
give. Written to a temporary SQLite file in batches, each side costs disk, not memory; SQLite then joins
them by reference with indexes built after loading, within a page cache of fixed size. Python only holds
one batch at a time, and the rows that did not match.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from carbuy.finance.model import LedgerRow, LenderLine, ProcessorObject

BATCH = 5_000
CACHE_KIB = 4_096
"""SQLite page cache of the scratch file: the most memory matching can take, whatever the day's size."""

LINE_KIND = {"disbursement": "loan_disbursed", "return": "principal_returned"}
PROCESSOR_KINDS = ("deposit_charged", "balance_charged", "deposit_refunded", "balance_refunded")
LENDER_KINDS = ("loan_disbursed", "principal_returned")

_SCHEMA = """
CREATE TABLE ledger (id INTEGER PRIMARY KEY, purchase_id TEXT, order_ref TEXT, kind TEXT, key TEXT,
    reference TEXT, amount INTEGER, counterparty TEXT, matched INTEGER NOT NULL DEFAULT 0);
CREATE TABLE processor (id INTEGER PRIMARY KEY, object TEXT, reference TEXT, order_ref TEXT, key TEXT, kind TEXT,
    amount INTEGER, created INTEGER, charge_ref TEXT, charge_ok INTEGER, matched INTEGER NOT NULL DEFAULT 0);
CREATE TABLE lender (id INTEGER PRIMARY KEY, day TEXT, kind TEXT, reference TEXT, application_id TEXT,
    order_ref TEXT, amount INTEGER, match_ref TEXT, matched INTEGER NOT NULL DEFAULT 0);
CREATE TABLE lender_near (kind TEXT, match_ref TEXT, amount INTEGER, day TEXT);
"""
_INDEXES = """
CREATE INDEX ledger_reference ON ledger (reference, kind);
CREATE INDEX processor_reference ON processor (reference);
CREATE INDEX processor_order_key ON processor (order_ref, key, object);
CREATE INDEX lender_match ON lender (match_ref, kind);
CREATE INDEX lender_near_match ON lender_near (match_ref, kind);
"""

T = TypeVar("T")


def match_ref(line: LenderLine) -> str:
    """What a lender line matches in the ledger: a disbursement its id, a return its application's id."""
    return line.reference if line.type == "disbursement" else line.application_id


def _batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class Scratch:
    """The scratch database of one reconciliation."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def load_ledger(self, rows: Iterable[LedgerRow], counted: Callable[[int], None]) -> int:
        """Spill the ledger rows of the day; how many."""
        return self._load(
            "INSERT INTO ledger (purchase_id, order_ref, kind, key, reference, amount, counterparty) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            ((r.purchase_id, r.order_ref, r.kind, r.key, r.reference, r.amount_fen, r.counterparty) for r in rows),
            counted,
        )

    def load_processor(self, objects: Iterable[ProcessorObject], counted: Callable[[int], None]) -> int:
        """Spill the processor's settled objects of the day; how many."""
        return self._load(
            "INSERT INTO processor (object, reference, order_ref, key, kind, amount, created, "
            "charge_ref, charge_ok) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    o.object,
                    o.reference,
                    o.order_ref,
                    o.key,
                    o.kind,
                    o.amount_fen,
                    o.created,
                    o.charge_ref,
                    int(o.charge_ok),
                )
                for o in objects
            ),
            counted,
        )

    def load_lender(self, lines: Iterable[LenderLine], counted: Callable[[int], None]) -> int:
        """Spill the lender's lines of the day; how many."""
        return self._load(
            "INSERT INTO lender (day, kind, reference, application_id, order_ref, amount, match_ref) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    line.day.isoformat(),
                    LINE_KIND[line.type],
                    line.reference,
                    line.application_id,
                    line.order_ref,
                    line.amount_fen,
                    match_ref(line),
                )
                for line in lines
            ),
            counted,
        )

    def load_lender_near(self, lines: Iterable[LenderLine]) -> int:
        """Spill a neighbouring day's lender lines (for movements booked across midnight)."""
        return self._load(
            "INSERT INTO lender_near (kind, match_ref, amount, day) VALUES (?, ?, ?, ?)",
            ((LINE_KIND[line.type], match_ref(line), line.amount_fen, line.day.isoformat()) for line in lines),
            lambda _: None,
        )

    def index(self) -> None:
        """Build the indexes once everything is loaded (faster than keeping them up while loading)."""
        self.db.executescript(_INDEXES)

    def rows(self, sql: str, *params: Any) -> Iterator[sqlite3.Row]:
        """The rows of a query, fetched a batch at a time."""
        cursor = self.db.execute(sql, params)
        while batch := cursor.fetchmany(1_000):
            yield from batch

    def chunks(self, sql: str, *params: Any, size: int = 500) -> Iterator[list[sqlite3.Row]]:
        """The rows of a query in lists of `size` (for batched look-ups in carbuy's database)."""
        cursor = self.db.execute(sql, params)
        while batch := cursor.fetchmany(size):
            yield batch

    def scalar(self, sql: str, *params: Any) -> Any:
        """The first column of the first row."""
        row = self.db.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def execute(self, sql: str, *params: Any) -> None:
        """Run a statement."""
        self.db.execute(sql, params)

    def _load(self, sql: str, values: Iterable[tuple[Any, ...]], counted: Callable[[int], None]) -> int:
        total = 0
        for batch in _batched(values, BATCH):
            self.db.executemany(sql, batch)
            total += len(batch)
            counted(total)
        self.db.commit()
        return total


@contextmanager
def scratch(workdir: Path | None = None) -> Iterator[Scratch]:
    """A fresh scratch database in a temporary file, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="carbuy-reconcile-", dir=workdir) as folder:
        db = sqlite3.connect(Path(folder) / "scratch.db")
        try:
            db.row_factory = sqlite3.Row
            # A throwaway file: no journal, no fsync; a bounded page cache.
            db.executescript(
                f"PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-{CACHE_KIB}; "
                "PRAGMA temp_store=FILE;"
            )
            db.executescript(_SCHEMA)
            yield Scratch(db)
        finally:
            db.close()
