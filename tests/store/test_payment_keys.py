"""The payment key table on SQLite and on PostgreSQL: one row per key, even under concurrent inserts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from carbuy.runtime.settings import DatabaseSettings
from carbuy.store.db import make_engine, migrate, session_scope
from carbuy.store.payment_keys import PaymentKey, PaymentKeyCreate, PaymentObjectType, get_by_key, record


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine with the tables created (twice, to show it is idempotent), on each database carbuy supports."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'carbuy.db'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    engine = make_engine(DatabaseSettings(url=url))
    migrate(engine)
    migrate(engine)
    yield engine
    engine.dispose()


def payment_key(key: str, object_id: str = "pi_1") -> PaymentKeyCreate:
    """A payment intent record for a key."""
    return PaymentKeyCreate(
        key=key, object_type=PaymentObjectType.PAYMENT_INTENT, object_id=object_id, order_ref="ORD-1", amount_fen=10_000
    )


def test_a_recorded_key_is_found_with_its_object(engine: Engine) -> None:
    key = f"k-{uuid.uuid4().hex}"
    with session_scope(engine) as session:
        assert get_by_key(session=session, key=key) is None
        record(session=session, payment_key=payment_key(key, "pi_found"))
    with session_scope(engine) as session:
        found = get_by_key(session=session, key=key)

    assert found is not None
    assert (found.object_type, found.object_id, found.order_ref, found.amount_fen) == (
        "payment_intent",
        "pi_found",
        "ORD-1",
        10_000,
    )
    assert found.created_at is not None


def test_recording_a_key_again_returns_the_first_record(engine: Engine) -> None:
    key = f"k-{uuid.uuid4().hex}"
    with session_scope(engine) as session:
        first = record(session=session, payment_key=payment_key(key, "pi_first"))
    with session_scope(engine) as session:
        second = record(session=session, payment_key=payment_key(key, "pi_second"))

    assert (first.object_id, second.object_id, second.id) == ("pi_first", "pi_first", first.id)


def test_concurrent_inserts_of_one_key_leave_one_row_that_every_writer_gets_back(engine: Engine) -> None:
    key = f"k-{uuid.uuid4().hex}"

    def write(n: int) -> str:
        with session_scope(engine) as session:
            return record(session=session, payment_key=payment_key(key, f"pi_{n}")).object_id

    with ThreadPoolExecutor(max_workers=8) as pool:
        winners = set(pool.map(write, range(16)))

    with session_scope(engine) as session:
        rows = session.exec(select(func.count()).select_from(PaymentKey).where(PaymentKey.key == key)).one()
    assert len(winners) == 1 and rows == 1
