"""carbuy's own side of the reconciliation, read from its database: ledger rows, outcomes and known purchases."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import date

from sqlalchemy import Engine, case, func
from sqlmodel import col, select

from carbuy.domain.settlement import OutcomeFacts, expected_nets
from carbuy.finance.model import LedgerRow, OutcomeNets
from carbuy.store.db import session_scope
from carbuy.store.ledger import LENDER_SIGN, PROCESSOR_SIGN, LedgerEntry, LedgerKind, entries_for_day
from carbuy.store.outcomes import PurchaseOutcome
from carbuy.store.payment_keys import PaymentKey

LOOKUP_BATCH = 500
"""Ids per IN (...) query: well under every database's parameter limit."""


def ledger_row(entry: LedgerEntry) -> LedgerRow:
    """A ledger entry as the rules and the audit read it."""
    return LedgerRow(
        purchase_id=entry.purchase_id,
        order_ref=entry.order_ref,
        kind=str(entry.kind),
        key=entry.key,
        reference=entry.reference,
        amount_fen=entry.amount_fen,
        counterparty=str(entry.counterparty),
        market_day=entry.market_day,
    )


def batches(ids: Collection[str]) -> Iterator[list[str]]:
    """The ids, sorted, LOOKUP_BATCH at a time (one IN (...) query each)."""
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), LOOKUP_BATCH):
        yield ordered[start : start + LOOKUP_BATCH]


def _signed_sum(signs: Mapping[LedgerKind, int]) -> object:
    """SUM of the amounts of these kinds, each with its sign; 0 for a purchase without such rows."""
    plus = [kind for kind, sign in signs.items() if sign > 0]
    minus = [kind for kind, sign in signs.items() if sign < 0]
    amount = col(LedgerEntry.amount_fen)
    signed = case((col(LedgerEntry.kind).in_(plus), amount), (col(LedgerEntry.kind).in_(minus), -amount), else_=0)
    return func.coalesce(func.sum(signed), 0)


class LedgerBook:
    """The ledger, the purchase outcomes and the payment keys, read for one reconciliation."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count_day(self, day: date) -> int:
        """How many ledger rows the day has (for progress)."""
        with session_scope(self.engine) as session:
            query = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.market_day == day)
            return int(session.exec(query).one())

    def day_rows(self, day: date) -> Iterator[LedgerRow]:
        """Every ledger row of the day, streamed."""
        with session_scope(self.engine) as session:
            for entry in entries_for_day(session=session, day=day):
                yield ledger_row(entry)
                session.expunge(entry)

    def rows_of_purchases(self, purchase_ids: Collection[str]) -> list[LedgerRow]:
        """Every ledger row (of any day) of these purchases: few, asked only for what did not match."""
        rows: list[LedgerRow] = []
        with session_scope(self.engine) as session:
            for batch in batches(purchase_ids):
                query = select(LedgerEntry).where(col(LedgerEntry.purchase_id).in_(batch)).order_by(col(LedgerEntry.id))
                rows.extend(ledger_row(entry) for entry in session.exec(query))
        return rows

    def known_purchases(self, order_refs: Collection[str]) -> set[str]:
        """The order refs carbuy has a trace of: a ledger row, an outcome, or a payment key."""
        known: set[str] = set()
        with session_scope(self.engine) as session:
            for batch in batches(order_refs):
                known.update(
                    session.exec(select(LedgerEntry.order_ref).where(col(LedgerEntry.order_ref).in_(batch)).distinct())
                )
                known.update(
                    session.exec(select(PurchaseOutcome.order_ref).where(col(PurchaseOutcome.order_ref).in_(batch)))
                )
                known.update(
                    session.exec(select(PaymentKey.order_ref).where(col(PaymentKey.order_ref).in_(batch)).distinct())
                )
        return known

    def count_ended(self, day: date) -> int:
        """How many purchases ended on the day (for progress)."""
        with session_scope(self.engine) as session:
            query = select(func.count()).select_from(PurchaseOutcome).where(PurchaseOutcome.market_day == day)
            return int(session.exec(query).one())

    def outcome_nets(self, day: date, *, batch: int = 1000) -> Iterator[OutcomeNets]:
        """Each purchase that ended on the day, with its expected nets and its ledger's (all its rows), streamed."""
        query = (
            select(PurchaseOutcome, _signed_sum(PROCESSOR_SIGN), _signed_sum(LENDER_SIGN))  # type: ignore[call-overload]
            .outerjoin(LedgerEntry, col(LedgerEntry.purchase_id) == col(PurchaseOutcome.purchase_id))
            .where(PurchaseOutcome.market_day == day)
            .group_by(col(PurchaseOutcome.id))
            .order_by(col(PurchaseOutcome.purchase_id))
            .execution_options(yield_per=batch)
        )
        with session_scope(self.engine) as session:
            for outcome, processor_fen, lender_fen in session.exec(query):
                expected = expected_nets(OutcomeFacts.model_validate(outcome))
                yield OutcomeNets(
                    purchase_id=outcome.purchase_id,
                    order_ref=outcome.order_ref,
                    state=str(outcome.state),
                    expected_processor_fen=expected.processor_fen,
                    expected_lender_fen=expected.lender_fen,
                    ledger_processor_fen=int(processor_fen),
                    ledger_lender_fen=int(lender_fen),
                )
                session.expunge(outcome)
