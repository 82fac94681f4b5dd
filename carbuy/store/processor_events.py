"""Events the payment processor sent us (Stripe webhooks), stored once by event id, as received."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Engine, UniqueConstraint, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from carbuy.store.db import session_scope
from carbuy.store.payment_keys import PaymentKey, PaymentObjectType
from carbuy.store.types import UtcDateTime


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ProcessorEventRecordBase(SQLModel):
    """Fields shared by every model of the family."""

    event_id: str = Field(max_length=255, description="the processor's event id (evt_…), unique")
    type: str = Field(max_length=100, description="e.g. payment_intent.succeeded")
    object_id: str = Field(max_length=255, description="the object the event is about (pi_…, ch_…)")
    order_ref: str | None = Field(default=None, max_length=255, index=True, description="from the object's metadata")
    amount_fen: int | None = Field(default=None, description="the object's amount, when it has one")
    created_at: datetime = Field(sa_type=UtcDateTime, description="when the processor created the event")
    payload: dict[str, Any] = Field(sa_type=JSON, description="the event as received")


class ProcessorEventRecordCreate(ProcessorEventRecordBase):
    """What the webhook stores."""


class ProcessorEventRecord(ProcessorEventRecordBase, table=True):
    """One row per event id: a redelivered event finds its row instead of writing a second one."""

    __tablename__ = "processor_events"
    __table_args__ = (UniqueConstraint("event_id", name="uq_processor_events_event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=_utcnow, sa_type=UtcDateTime)
    delivered: bool = Field(default=False, description="signalled to its purchase, or there was none to signal")


class ProcessorEventRecordPublic(ProcessorEventRecordBase):
    """A stored event as reports show it."""

    id: int
    received_at: datetime
    delivered: bool


def get_event(*, session: Session, event_id: str) -> ProcessorEventRecord | None:
    """The stored event with this id, if any."""
    return session.exec(select(ProcessorEventRecord).where(ProcessorEventRecord.event_id == event_id)).first()


def record_event(*, session: Session, event: ProcessorEventRecordCreate) -> tuple[ProcessorEventRecord, bool]:
    """Store an event unless its id is stored already; the row and whether this call stored it."""
    existing = get_event(session=session, event_id=event.event_id)
    if existing is not None:
        return existing, False
    row = ProcessorEventRecord.model_validate(event)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # The processor redelivered while the first delivery was being stored.
        session.rollback()
        existing = get_event(session=session, event_id=event.event_id)
        if existing is None:
            raise
        return existing, False
    session.refresh(row)
    return row, True


def order_ref_of_payment_intent(*, session: Session, payment_intent_id: str) -> str | None:
    """The order a payment intent of ours was made for (charges' events may carry no metadata)."""
    return session.exec(
        select(PaymentKey.order_ref).where(
            PaymentKey.object_id == payment_intent_id, PaymentKey.object_type == PaymentObjectType.PAYMENT_INTENT
        )
    ).first()


def mark_delivered(*, session: Session, event_id: str) -> None:
    """Note that the event reached its purchase (or had none), so a redelivery does nothing."""
    session.execute(
        update(ProcessorEventRecord).where(ProcessorEventRecord.event_id == event_id).values(delivered=True)  # type: ignore[arg-type]
    )
    session.commit()


class ProcessorEventStore:
    """The stored processor events, read and written in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def record(self, event: ProcessorEventRecordCreate) -> tuple[ProcessorEventRecord, bool]:
        """Store an event once; the row and whether this call stored it."""
        return await asyncio.to_thread(self._record, event)

    async def get(self, event_id: str) -> ProcessorEventRecord | None:
        """The stored event, if any."""
        return await asyncio.to_thread(self._get, event_id)

    async def mark_delivered(self, event_id: str) -> None:
        """Note that the event reached its purchase."""
        await asyncio.to_thread(self._mark_delivered, event_id)

    async def order_ref_of(self, payment_intent_id: str) -> str | None:
        """The order a payment intent of ours was made for."""
        return await asyncio.to_thread(self._order_ref_of, payment_intent_id)

    def _record(self, event: ProcessorEventRecordCreate) -> tuple[ProcessorEventRecord, bool]:
        with session_scope(self._engine) as session:
            return record_event(session=session, event=event)

    def _get(self, event_id: str) -> ProcessorEventRecord | None:
        with session_scope(self._engine) as session:
            return get_event(session=session, event_id=event_id)

    def _mark_delivered(self, event_id: str) -> None:
        with session_scope(self._engine) as session:
            mark_delivered(session=session, event_id=event_id)

    def _order_ref_of(self, payment_intent_id: str) -> str | None:
        with session_scope(self._engine) as session:
            return order_ref_of_payment_intent(session=session, payment_intent_id=payment_intent_id)
