"""The ledger: one row per money movement, written by the activity that moved the money, exactly once.

Amounts are always positive; the sign comes from the kind (`signed_fen`). Two nets are reconciled:
- processor net (what the payment processor holds for us from the customer):
  deposit_charged + balance_charged - deposit_refunded - balance_refunded;
- lender net (principal the lender paid us): loan_disbursed - principal_returned.
cancellation_fee_kept and shipment_cancellation_fee are informational and count toward neither net: the fee
kept is the part of the deposit not refunded (already in the processor net), and the carrier's fee is billed
by the carrier, not moved through the processor or the lender.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import field_validator, model_validator
from sqlalchemy import Engine, Index, String, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from carbuy.domain.money import market_date
from carbuy.store.db import session_scope
from carbuy.store.types import UtcDateTime


class LedgerKind(StrEnum):
    """What a money movement was."""

    DEPOSIT_CHARGED = "deposit_charged"
    DEPOSIT_REFUNDED = "deposit_refunded"
    CANCELLATION_FEE_KEPT = "cancellation_fee_kept"
    BALANCE_CHARGED = "balance_charged"
    BALANCE_REFUNDED = "balance_refunded"
    LOAN_DISBURSED = "loan_disbursed"
    PRINCIPAL_RETURNED = "principal_returned"
    SHIPMENT_CANCELLATION_FEE = "shipment_cancellation_fee"


class Counterparty(StrEnum):
    """Who was on the other side of the movement."""

    PROCESSOR = "processor"
    LENDER = "lender"
    CARRIER = "carrier"


PROCESSOR_SIGN: dict[LedgerKind, int] = {
    LedgerKind.DEPOSIT_CHARGED: 1,
    LedgerKind.BALANCE_CHARGED: 1,
    LedgerKind.DEPOSIT_REFUNDED: -1,
    LedgerKind.BALANCE_REFUNDED: -1,
}
LENDER_SIGN: dict[LedgerKind, int] = {
    LedgerKind.LOAN_DISBURSED: 1,
    LedgerKind.PRINCIPAL_RETURNED: -1,
}
SIGN: dict[LedgerKind, int] = {kind: PROCESSOR_SIGN.get(kind, LENDER_SIGN.get(kind, 0)) for kind in LedgerKind}
"""+1 / -1 toward the processor or lender net the kind belongs to; 0 for the informational kinds."""


def signed_fen(kind: LedgerKind, amount_fen: int) -> int:
    """The amount with the sign of its kind toward its net (0 for the informational kinds)."""
    return SIGN[kind] * amount_fen


def _utcnow() -> datetime:
    return datetime.now(UTC)


class LedgerEntryBase(SQLModel):
    """Fields shared by every model of the family."""

    purchase_id: str = Field(max_length=255, index=True, description="the workflow id, purchase-<order_id>")
    order_ref: str = Field(max_length=255, index=True, description="the order id")
    kind: LedgerKind = Field(sa_type=String(40))
    key: str = Field(max_length=255, description="the idempotency key of the activity that moved the money")
    amount_fen: int = Field(gt=0, description="always positive; the sign comes from the kind")
    counterparty: Counterparty = Field(sa_type=String(20))
    reference: str = Field(max_length=255, description="the counterparty's id: pi_…, re_…, disbursement, shipment")
    occurred_at: datetime = Field(sa_type=UtcDateTime, description="when the money moved (UTC)")
    market_day: date = Field(description="the Asia/Shanghai calendar day of occurred_at")


class LedgerEntryCreate(LedgerEntryBase):
    """What an activity records; market_day is derived from occurred_at when left out."""

    market_day: date = Field(default=date.min, description="derived from occurred_at")

    @field_validator("occurred_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _derive_market_day(self) -> LedgerEntryCreate:
        self.market_day = market_date(self.occurred_at)
        return self


class LedgerEntry(LedgerEntryBase, table=True):
    """One row per (purchase, kind, key): a retried activity finds its row instead of writing a second one."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("purchase_id", "kind", "key", name="uq_ledger_entries_purchase_kind_key"),
        Index("ix_ledger_entries_market_day", "market_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UtcDateTime)


class LedgerEntryPublic(LedgerEntryBase):
    """A ledger row as reports and APIs show it."""

    id: int
    created_at: datetime


def _existing(*, session: Session, entry: LedgerEntryCreate) -> LedgerEntry | None:
    return session.exec(
        select(LedgerEntry).where(
            LedgerEntry.purchase_id == entry.purchase_id,
            LedgerEntry.kind == entry.kind,
            LedgerEntry.key == entry.key,
        )
    ).first()


def record_entry(*, session: Session, entry: LedgerEntryCreate) -> LedgerEntry:
    """Insert a ledger row; if (purchase_id, kind, key) is already recorded, return that row instead."""
    existing = _existing(session=session, entry=entry)
    if existing is not None:
        return existing
    row = LedgerEntry.model_validate(entry)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # A concurrent writer (the same activity retried on another worker) won the race.
        session.rollback()
        existing = _existing(session=session, entry=entry)
        if existing is None:
            raise
        return existing
    session.refresh(row)
    return row


def entries_for_day(*, session: Session, day: date, batch: int = 1000) -> Iterator[LedgerEntry]:
    """Every row of one market day, streamed in batches, ordered by purchase then insertion."""
    statement = (
        select(LedgerEntry)
        .where(LedgerEntry.market_day == day)
        .order_by(col(LedgerEntry.purchase_id), col(LedgerEntry.id))
        .execution_options(yield_per=batch)
    )
    yield from session.exec(statement)


def entries_for_purchase(*, session: Session, purchase_id: str) -> Sequence[LedgerEntry]:
    """Every row of one purchase, in insertion order."""
    statement = select(LedgerEntry).where(LedgerEntry.purchase_id == purchase_id).order_by(col(LedgerEntry.id))
    return session.exec(statement).all()


class LedgerStore:
    """The ledger, read and written in a worker thread so the event loop never waits on the DB."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The engine the store writes through."""
        return self._engine

    async def record(self, entry: LedgerEntryCreate) -> LedgerEntry:
        """Record a money movement once; a repeat returns the first row."""
        return await asyncio.to_thread(self._record, entry)

    async def for_purchase(self, purchase_id: str) -> list[LedgerEntry]:
        """Every row of one purchase."""
        return await asyncio.to_thread(self._for_purchase, purchase_id)

    async def for_day(self, day: date) -> list[LedgerEntry]:
        """Every row of one market day (materialised; use entries_for_day to stream a large day)."""
        return await asyncio.to_thread(self._for_day, day)

    def _record(self, entry: LedgerEntryCreate) -> LedgerEntry:
        with session_scope(self._engine) as session:
            return record_entry(session=session, entry=entry)

    def _for_purchase(self, purchase_id: str) -> list[LedgerEntry]:
        with session_scope(self._engine) as session:
            return list(entries_for_purchase(session=session, purchase_id=purchase_id))

    def _for_day(self, day: date) -> list[LedgerEntry]:
        with session_scope(self._engine) as session:
            return list(entries_for_day(session=session, day=day))
