"""Idempotency records: our key → the Stripe object made for it, looked up before anything is created."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, Engine, String, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from carbuy.store.db import session_scope


class PaymentObjectType(StrEnum):
    """The kinds of Stripe object a key can stand for."""

    CUSTOMER = "customer"
    PAYMENT_INTENT = "payment_intent"
    REFUND = "refund"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class PaymentKeyBase(SQLModel):
    """Fields shared by every model of the family."""

    key: str = Field(max_length=255, description="our idempotency key, unique")
    object_type: PaymentObjectType = Field(sa_type=String(32))
    object_id: str = Field(max_length=255, description="the Stripe id (cus_…, pi_…, re_…)")
    order_ref: str = Field(max_length=255, index=True, description="the order the object belongs to")
    amount_fen: int | None = Field(default=None, description="amount of the charge or refund; none for customers")


class PaymentKeyCreate(PaymentKeyBase):
    """What a caller records."""


class PaymentKey(PaymentKeyBase, table=True):
    """One row per key; the unique constraint makes a concurrent duplicate insert fail instead of doubling."""

    __tablename__ = "payment_keys"
    __table_args__ = (UniqueConstraint("key", name="uq_payment_keys_key"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=_utcnow, sa_type=DateTime(timezone=True))


def get_by_key(*, session: Session, key: str) -> PaymentKey | None:
    """The record of a key, if any."""
    return session.exec(select(PaymentKey).where(PaymentKey.key == key)).first()


def record(*, session: Session, payment_key: PaymentKeyCreate) -> PaymentKey:
    """Record a key; if another writer recorded it first, return theirs (compare its object_id with yours)."""
    row = PaymentKey.model_validate(payment_key)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        existing = get_by_key(session=session, key=payment_key.key)
        if existing is None:
            raise
        return existing
    session.refresh(row)
    return row


class PaymentKeyStore:
    """The payment key records, read and written in a worker thread so the event loop never waits on the DB."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def get(self, key: str) -> PaymentKey | None:
        """The record of a key, if any."""
        return await asyncio.to_thread(self._get, key)

    async def record(self, payment_key: PaymentKeyCreate) -> PaymentKey:
        """Record a key; the row returned is whichever writer recorded it first."""
        return await asyncio.to_thread(self._record, payment_key)

    def _get(self, key: str) -> PaymentKey | None:
        with session_scope(self._engine) as session:
            return get_by_key(session=session, key=key)

    def _record(self, payment_key: PaymentKeyCreate) -> PaymentKey:
        with session_scope(self._engine) as session:
            return record(session=session, payment_key=payment_key)
