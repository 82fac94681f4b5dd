"""The notification outbox table on SQLite and PostgreSQL: one row per key, one claimer per row."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from carbuy.runtime.settings import DatabaseSettings
from carbuy.store.db import make_engine, migrate, session_scope
from carbuy.store.outbox import (
    OutboxMessage,
    OutboxMessageCreate,
    OutboxStatus,
    claim_pending,
    count_by_status,
    enqueue,
    get_by_key,
    mark_sent,
    messages_of,
    release,
    utcnow,
)

LONG = timedelta(minutes=5)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated engine on each database carbuy supports."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'carbuy.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    engine = make_engine(DatabaseSettings(url=url))
    migrate(engine)
    yield engine
    engine.dispose()


def new_message(order_ref: str, key: str | None = None, body: str = "[carbuy] arrived") -> OutboxMessageCreate:
    return OutboxMessageCreate(
        key=key or f"k-{uuid.uuid4().hex}",
        order_ref=order_ref,
        channel="sms",
        to="13800138000",
        template="vehicle_arrived",
        body=body,
    )


def test_a_written_message_is_pending_with_no_attempts(engine: Engine) -> None:
    order_ref = f"ORD-{uuid.uuid4().hex[:8]}"
    with session_scope(engine) as session:
        row = enqueue(session=session, message=new_message(order_ref))

    with session_scope(engine) as session:
        [kept] = messages_of(session=session, order_ref=order_ref)
    assert (kept.id, kept.status, kept.attempts, kept.claim, kept.sent_at) == (row.id, "pending", 0, None, None)
    assert kept.created_at.tzinfo is not None and kept.body == "[carbuy] arrived"


def test_writing_a_key_again_returns_the_first_message(engine: Engine) -> None:
    order_ref, key = f"ORD-{uuid.uuid4().hex[:8]}", f"k-{uuid.uuid4().hex}"
    with session_scope(engine) as session:
        first = enqueue(session=session, message=new_message(order_ref, key, body="first"))
    with session_scope(engine) as session:
        second = enqueue(session=session, message=new_message(order_ref, key, body="second"))

    assert (second.id, second.body) == (first.id, "first")


def test_concurrent_writes_of_one_key_leave_one_row(engine: Engine) -> None:
    order_ref, key = f"ORD-{uuid.uuid4().hex[:8]}", f"k-{uuid.uuid4().hex}"

    def write(n: int) -> int | None:
        with session_scope(engine) as session:
            return enqueue(session=session, message=new_message(order_ref, key, body=f"copy {n}")).id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(write, range(16)))

    with session_scope(engine) as session:
        assert len(ids) == 1 and len(messages_of(session=session, order_ref=order_ref)) == 1


def test_two_claimers_at_once_never_hold_the_same_message(engine: Engine) -> None:
    order_ref = f"ORD-{uuid.uuid4().hex[:8]}"
    with session_scope(engine) as session:
        written = {enqueue(session=session, message=new_message(order_ref)).id for _ in range(30)}

    def claim(_: int) -> list[int | None]:
        claimed: list[int | None] = []
        while True:
            with session_scope(engine) as session:
                batch = claim_pending(session=session, limit=4, claim_timeout=LONG)
            if not batch:
                return claimed
            claimed += [m.id for m in batch if m.order_ref == order_ref]

    with ThreadPoolExecutor(max_workers=4) as pool:
        claims = list(pool.map(claim, range(4)))

    every = [ident for claimed in claims for ident in claimed]
    assert len(every) == len(set(every)) and set(every) == written  # each message claimed exactly once
    with session_scope(engine) as session:
        assert {m.attempts for m in messages_of(session=session, order_ref=order_ref)} == {1}


def test_a_sent_message_is_not_claimed_again(engine: Engine) -> None:
    order_ref = f"ORD-{uuid.uuid4().hex[:8]}"
    with session_scope(engine) as session:
        row = enqueue(session=session, message=new_message(order_ref))
        [mine] = [m for m in claim_pending(session=session, limit=1000, claim_timeout=LONG) if m.id == row.id]
        assert mark_sent(session=session, message=mine, message_id="msg_1")

    with session_scope(engine) as session:
        again = claim_pending(session=session, limit=1000, claim_timeout=LONG)
        kept = get_by_key(session=session, key=row.key)
    assert row.id not in [m.id for m in again]
    assert kept is not None and (kept.status, kept.message_id, kept.claim) == ("sent", "msg_1", None)
    assert kept.sent_at is not None


def test_a_stale_claim_is_taken_over_and_the_first_claimer_can_no_longer_settle_it(engine: Engine) -> None:
    order_ref = f"ORD-{uuid.uuid4().hex[:8]}"
    with session_scope(engine) as session:
        row = enqueue(session=session, message=new_message(order_ref))
        [first] = [m for m in claim_pending(session=session, limit=1000, claim_timeout=LONG) if m.id == row.id]
        session.exec(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id)  # type: ignore[arg-type]
            .values(claimed_at=utcnow() - timedelta(minutes=10))
        )
        session.commit()
        first_claim = first.claim

    with session_scope(engine) as session:
        [second] = [m for m in claim_pending(session=session, limit=1000, claim_timeout=LONG) if m.id == row.id]
    first.claim = first_claim
    with session_scope(engine) as session:
        assert not mark_sent(session=session, message=first, message_id="msg_late")
        assert mark_sent(session=session, message=second, message_id="msg_2")
        kept = get_by_key(session=session, key=row.key)
    assert second.claim != first_claim and second.attempts == 2
    assert kept is not None and kept.message_id == "msg_2"


def test_a_released_message_is_pending_again_and_a_given_up_one_is_failed(engine: Engine) -> None:
    order_ref = f"ORD-{uuid.uuid4().hex[:8]}"
    with session_scope(engine) as session:
        later = enqueue(session=session, message=new_message(order_ref))
        lost = enqueue(session=session, message=new_message(order_ref))
        claimed = {m.id: m for m in claim_pending(session=session, limit=1000, claim_timeout=LONG)}
        release(session=session, message=claimed[later.id], error="ConnectError: refused", give_up=False)
        release(session=session, message=claimed[lost.id], error="notifier: invalid number", give_up=True)

    with session_scope(engine) as session:
        kept = {m.id: m for m in messages_of(session=session, order_ref=order_ref)}
        reclaimed = [m.id for m in claim_pending(session=session, limit=1000, claim_timeout=LONG)]
        counts = count_by_status(session=session)
    assert (kept[later.id].status, kept[later.id].last_error) == ("pending", "ConnectError: refused")
    assert (kept[lost.id].status, kept[lost.id].last_error) == ("failed", "notifier: invalid number")
    assert later.id in reclaimed and lost.id not in reclaimed
    assert counts[OutboxStatus.FAILED] >= 1 and set(counts) == set(OutboxStatus)
