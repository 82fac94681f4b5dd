"""How each purchase ended, written once when it ends: the facts the expected money nets are computed from."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import field_validator, model_validator
from sqlalchemy import Engine, Index, String, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from carbuy.domain.money import market_date
from carbuy.store.db import session_scope
from carbuy.store.types import UtcDateTime


class OutcomeState(StrEnum):
    """The terminal states a purchase can end in."""

    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PurchaseOutcomeBase(SQLModel):
    """Fields shared by every model of the family (amounts in fen, as the purchase last knew them)."""

    purchase_id: str = Field(max_length=255, description="the workflow id, purchase-<order_id>")
    order_ref: str = Field(max_length=255, index=True)
    state: OutcomeState = Field(sa_type=String(20))
    locked: bool = Field(description="the order had been locked (the cancellation fee applies)")
    fee_waived: bool = Field(description="a partner's refusal ended it: no fee kept")
    handed_over: bool = Field(description="the customer accepted the car")
    deposit_fen: int = Field(ge=0, description="deposit actually paid (0 if never paid)")
    cancellation_fee_fen: int = Field(ge=0, description="what the purchase's policy keeps of the deposit after lock")
    price_fen: int = Field(ge=0)
    premium_fen: int = Field(ge=0)
    purchase_tax_fen: int = Field(ge=0)
    plate_fee_fen: int = Field(ge=0)
    loan_principal_fen: int = Field(ge=0, description="principal the lender disbursed (0 without a loan)")
    balance_due_fen: int = Field(ge=0)
    ended_at: datetime = Field(sa_type=UtcDateTime)
    market_day: date = Field(description="the Asia/Shanghai calendar day of ended_at")


class PurchaseOutcomeCreate(PurchaseOutcomeBase):
    """What the ending purchase records; market_day is derived from ended_at."""

    market_day: date = Field(default=date.min, description="derived from ended_at")

    @field_validator("ended_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("ended_at must be timezone-aware")
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _derive_market_day(self) -> PurchaseOutcomeCreate:
        self.market_day = market_date(self.ended_at)
        return self


class PurchaseOutcome(PurchaseOutcomeBase, table=True):
    """One row per purchase; a repeated write returns the first."""

    __tablename__ = "purchase_outcomes"
    __table_args__ = (
        UniqueConstraint("purchase_id", name="uq_purchase_outcomes_purchase_id"),
        Index("ix_purchase_outcomes_market_day", "market_day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=UtcDateTime)


class PurchaseOutcomePublic(PurchaseOutcomeBase):
    """An outcome as reports show it."""

    id: int
    created_at: datetime


def get_outcome(*, session: Session, purchase_id: str) -> PurchaseOutcome | None:
    """The outcome of a purchase, if it has ended."""
    return session.exec(select(PurchaseOutcome).where(PurchaseOutcome.purchase_id == purchase_id)).first()


def record_outcome(*, session: Session, outcome: PurchaseOutcomeCreate) -> PurchaseOutcome:
    """Record how a purchase ended; if it was recorded already, return that row instead."""
    existing = get_outcome(session=session, purchase_id=outcome.purchase_id)
    if existing is not None:
        return existing
    row = PurchaseOutcome.model_validate(outcome)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = get_outcome(session=session, purchase_id=outcome.purchase_id)
        if existing is None:
            raise
        return existing
    session.refresh(row)
    return row


def outcomes_for_day(*, session: Session, day: date) -> list[PurchaseOutcome]:
    """Every purchase that ended on one market day, by purchase id."""
    statement = (
        select(PurchaseOutcome).where(PurchaseOutcome.market_day == day).order_by(col(PurchaseOutcome.purchase_id))
    )
    return list(session.exec(statement).all())


class OutcomeStore:
    """The purchase outcomes, read and written in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def record(self, outcome: PurchaseOutcomeCreate) -> PurchaseOutcome:
        """Record how a purchase ended, once."""
        return await asyncio.to_thread(self._record, outcome)

    async def get(self, purchase_id: str) -> PurchaseOutcome | None:
        """The outcome of a purchase, if recorded."""
        return await asyncio.to_thread(self._get, purchase_id)

    def _record(self, outcome: PurchaseOutcomeCreate) -> PurchaseOutcome:
        with session_scope(self._engine) as session:
            return record_outcome(session=session, outcome=outcome)

    def _get(self, purchase_id: str) -> PurchaseOutcome | None:
        with session_scope(self._engine) as session:
            return get_outcome(session=session, purchase_id=purchase_id)
