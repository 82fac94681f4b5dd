"""The notification outbox: rendered messages written by the activity, sent later by the outbox sender.

A message is written once per key (a retried activity finds its row). A sender claims rows with a conditional
UPDATE, so two senders never hold the same row at once; a claim older than the claim timeout (a sender that
died) can be taken over, and the notifier's idempotency key makes that second send harmless.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Engine, Index, String, Text, UniqueConstraint, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from carbuy.store.db import session_scope
from carbuy.store.types import UtcDateTime

T = TypeVar("T")


class OutboxStatus(StrEnum):
    """Where a message is: waiting to be sent, sent, or given up on."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class OutboxMessageBase(SQLModel):
    """Fields shared by every model of the family."""

    key: str = Field(max_length=255, description="the notification's idempotency key, also sent to the notifier")
    order_ref: str = Field(max_length=255, index=True, description="the order the message is about")
    audience: str = Field(default="customer", max_length=16, description="customer or ops")
    channel: str = Field(max_length=16, description="sms or email")
    to: str = Field(max_length=254)
    template: str = Field(max_length=64)
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(sa_type=Text)


class OutboxMessageCreate(OutboxMessageBase):
    """What the notification activity writes."""


class OutboxMessage(OutboxMessageBase, table=True):
    """One row per key; status, attempts and the current claim say how sending goes."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("key", name="uq_notification_outbox_key"),
        Index("ix_notification_outbox_status_id", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=String(16))
    attempts: int = Field(default=0, description="rounds in which a sender claimed it")
    claim: str | None = Field(default=None, max_length=64, description="the token of the sender holding it")
    claimed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    message_id: str | None = Field(default=None, max_length=255, description="the notifier's id once sent")
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class OutboxMessagePublic(OutboxMessageBase):
    """A message as reports and APIs show it."""

    id: int
    status: OutboxStatus
    attempts: int
    message_id: str | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


def get_by_key(*, session: Session, key: str) -> OutboxMessage | None:
    """The message written under a key, if any."""
    return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).first()


def enqueue(*, session: Session, message: OutboxMessageCreate) -> OutboxMessage:
    """Write a message to send; if its key was written before, return that row instead."""
    existing = get_by_key(session=session, key=message.key)
    if existing is not None:
        return existing
    row = OutboxMessage.model_validate(message)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # The same activity, retried on another worker, wrote it first.
        session.rollback()
        existing = get_by_key(session=session, key=message.key)
        if existing is None:
            raise
        return existing
    session.refresh(row)
    return row


def claim_pending(*, session: Session, limit: int, claim_timeout: timedelta) -> Sequence[OutboxMessage]:
    """Claim up to `limit` pending messages for this caller (oldest first) and return them.

    The UPDATE re-checks each row's claim, so a row two senders both saw is won by one of them only.
    """
    now = utcnow()
    claimable = (col(OutboxMessage.status) == OutboxStatus.PENDING) & or_(
        col(OutboxMessage.claimed_at).is_(None), col(OutboxMessage.claimed_at) < now - claim_timeout
    )
    candidates = session.exec(
        select(OutboxMessage.id).where(claimable).order_by(col(OutboxMessage.id)).limit(limit)
    ).all()
    if not candidates:
        return []
    token = uuid.uuid4().hex
    session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(candidates), claimable)
        .values(claim=token, claimed_at=now, attempts=col(OutboxMessage.attempts) + 1, updated_at=now)
    )
    session.commit()
    mine = select(OutboxMessage).where(OutboxMessage.claim == token).order_by(col(OutboxMessage.id))
    return session.exec(mine.execution_options(populate_existing=True)).all()


def mark_sent(*, session: Session, message: OutboxMessage, message_id: str) -> bool:
    """Record that the notifier took the message; False if the caller no longer held its claim."""
    return _settle(
        session=session,
        message=message,
        values={"status": OutboxStatus.SENT, "message_id": message_id, "sent_at": utcnow(), "last_error": None},
    )


def release(*, session: Session, message: OutboxMessage, error: str, give_up: bool) -> bool:
    """Let go of a message that could not be sent: pending again for a later round, or failed for good."""
    status = OutboxStatus.FAILED if give_up else OutboxStatus.PENDING
    return _settle(session=session, message=message, values={"status": status, "last_error": error[:1000]})


def _settle(*, session: Session, message: OutboxMessage, values: dict[str, object]) -> bool:
    result = session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id, col(OutboxMessage.claim) == message.claim)
        .values(**values, claim=None, claimed_at=None, updated_at=utcnow())
    )
    session.commit()
    return result.rowcount == 1


def messages_of(*, session: Session, order_ref: str) -> Sequence[OutboxMessage]:
    """Every message of an order, oldest first."""
    return session.exec(
        select(OutboxMessage).where(OutboxMessage.order_ref == order_ref).order_by(col(OutboxMessage.id))
    ).all()


def count_by_status(*, session: Session) -> dict[OutboxStatus, int]:
    """How many messages are pending, sent and failed."""
    rows = session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    counts = dict.fromkeys(OutboxStatus, 0)
    counts.update({OutboxStatus(status): n for status, n in rows})
    return counts


class OutboxStore:
    """The outbox, read and written in a worker thread so the event loop never waits on the DB."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @property
    def engine(self) -> Engine:
        """The engine the store works through."""
        return self._engine

    async def enqueue(self, message: OutboxMessageCreate) -> OutboxMessage:
        """Write a message once per key."""
        return await asyncio.to_thread(self._run, enqueue, message=message)

    async def claim(self, *, limit: int, claim_timeout: timedelta) -> Sequence[OutboxMessage]:
        """Claim pending messages for this caller."""
        return await asyncio.to_thread(self._run, claim_pending, limit=limit, claim_timeout=claim_timeout)

    async def mark_sent(self, message: OutboxMessage, message_id: str) -> bool:
        """Record a sent message."""
        return await asyncio.to_thread(self._run, mark_sent, message=message, message_id=message_id)

    async def release(self, message: OutboxMessage, *, error: str, give_up: bool) -> bool:
        """Put a message back (or fail it for good) after a failed send."""
        return await asyncio.to_thread(self._run, release, message=message, error=error, give_up=give_up)

    async def messages_of(self, order_ref: str) -> Sequence[OutboxMessage]:
        """Every message of an order."""
        return await asyncio.to_thread(self._run, messages_of, order_ref=order_ref)

    def _run(self, crud: Callable[..., T], **kwargs: Any) -> T:
        with session_scope(self._engine) as session:
            return crud(session=session, **kwargs)
