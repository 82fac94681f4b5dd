"""The audit's reading: every carbuy charge and refund at Stripe, every ledger row and outcome, by purchase."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from carbuy.domain.settlement import ExpectedNets, OutcomeFacts, expected_nets
from carbuy.finance.book import batches, ledger_row
from carbuy.finance.model import LedgerRow, ProcessorObject
from carbuy.finance.processor import ProcessorSource
from carbuy.store.db import session_scope
from carbuy.store.ledger import PROCESSOR_SIGN, LedgerEntry, LedgerKind
from carbuy.store.outcomes import PurchaseOutcome

ALL_TIME = (datetime.fromtimestamp(0, UTC), datetime(9999, 12, 31, tzinfo=UTC))
"""The audit reads every object Stripe has, whatever its day."""
Known = dict[str, ProcessorObject | None]
"""Stripe objects by id (pi_…, re_…): every carbuy object listed, and each one a ledger row names (None: unknown)."""


@dataclass
class PurchaseBooks:
    """Everything recorded about one purchase's money, on each side."""

    order_ref: str
    charges: list[ProcessorObject] = field(default_factory=list)
    refunds: list[ProcessorObject] = field(default_factory=list)
    rows: list[LedgerRow] = field(default_factory=list)
    state: str | None = None
    expected: ExpectedNets | None = None


def read_books(
    engine: Engine, processor: ProcessorSource, order_refs: Collection[str] | None = None
) -> tuple[list[PurchaseBooks], Known]:
    """Every purchase seen at Stripe, in the ledger or in the outcomes (or only these), ordered by order ref."""
    wanted = set(order_refs) if order_refs is not None else None
    books: dict[str, PurchaseBooks] = {ref: PurchaseBooks(ref) for ref in wanted or ()}

    def of(order_ref: str) -> PurchaseBooks:
        return books.setdefault(order_ref, PurchaseBooks(order_ref))

    known: Known = {}
    for seen in processor.objects(*ALL_TIME):
        known[seen.reference] = seen
        if wanted is None or seen.order_ref in wanted:
            (of(seen.order_ref).charges if seen.object == "charge" else of(seen.order_ref).refunds).append(seen)
    with session_scope(engine) as session:
        for entry in _entries(session, wanted):
            of(entry.order_ref).rows.append(ledger_row(entry))
        for outcome in _outcomes(session, wanted):
            purchase = of(outcome.order_ref)
            purchase.state = str(outcome.state)
            purchase.expected = expected_nets(OutcomeFacts.model_validate(outcome))
    for purchase in books.values():
        for row in purchase.rows:
            if LedgerKind(row.kind) in PROCESSOR_SIGN and row.reference not in known:
                known[row.reference] = processor.find(row.reference)
    return [books[ref] for ref in sorted(books)], known


def _batches(wanted: set[str] | None) -> Iterator[list[str] | None]:
    """The wanted order refs a batch at a time; one None (no filter) when every purchase is wanted."""
    if wanted is None:
        yield None
        return
    yield from batches(wanted)


def _entries(session: Session, wanted: set[str] | None) -> Iterator[LedgerEntry]:
    query = select(LedgerEntry).order_by(col(LedgerEntry.id))
    for batch in _batches(wanted):
        yield from session.exec(query if batch is None else query.where(col(LedgerEntry.order_ref).in_(batch)))


def _outcomes(session: Session, wanted: set[str] | None) -> Iterator[PurchaseOutcome]:
    query = select(PurchaseOutcome).order_by(col(PurchaseOutcome.id))
    for batch in _batches(wanted):
        yield from session.exec(query if batch is None else query.where(col(PurchaseOutcome.order_ref).in_(batch)))
