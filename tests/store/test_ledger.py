"""The ledger and the purchase outcomes on SQLite and PostgreSQL: one row per key, days in China's calendar."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, func
from sqlmodel import select

from carbuy.runtime.settings import DatabaseSettings
from carbuy.store.db import make_engine, migrate, session_scope
from carbuy.store.ledger import (
    Counterparty,
    LedgerEntry,
    LedgerEntryCreate,
    LedgerKind,
    LedgerStore,
    entries_for_day,
    entries_for_purchase,
    record_entry,
    signed_fen,
)
from carbuy.store.outcomes import OutcomeState, PurchaseOutcomeCreate, get_outcome, record_outcome

# 2027-03-01 17:30 UTC is 01:30 on 2 March in Shanghai: a late-evening European charge counts on China's next day.
LATE_UTC = datetime(2027, 3, 1, 17, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated engine on each database carbuy supports."""
    url = (
        f"sqlite:///{tmp_path / 'carbuy.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_schema_url")
    )
    engine = make_engine(DatabaseSettings(url=url))
    migrate(engine)
    yield engine
    engine.dispose()


def entry(purchase: str, kind: LedgerKind = LedgerKind.DEPOSIT_CHARGED, **changes: Any) -> LedgerEntryCreate:
    """A deposit charge of 100 CNY for a purchase, changed by keyword."""
    fields: dict[str, Any] = {
        "purchase_id": f"purchase-{purchase}",
        "order_ref": purchase,
        "kind": kind,
        "key": f"purchase-{purchase}:x",
        "amount_fen": 10_000,
        "counterparty": Counterparty.PROCESSOR,
        "reference": "pi_1",
        "occurred_at": LATE_UTC,
    }
    return LedgerEntryCreate.model_validate({**fields, **changes})


def fresh_order() -> str:
    return f"ORD-{uuid.uuid4().hex[:10]}"


def test_an_entry_gets_the_shanghai_market_day_and_reads_back_in_utc(engine: Engine) -> None:
    order = fresh_order()
    with session_scope(engine) as session:
        record_entry(session=session, entry=entry(order))
    with session_scope(engine) as session:
        [row] = entries_for_purchase(session=session, purchase_id=f"purchase-{order}")

    assert row.market_day == date(2027, 3, 2)
    assert row.occurred_at == LATE_UTC and row.occurred_at.tzinfo is not None
    assert (row.kind, row.counterparty, row.amount_fen) == ("deposit_charged", "processor", 10_000)


def test_recording_the_same_key_again_returns_the_first_row(engine: Engine) -> None:
    order = fresh_order()
    with session_scope(engine) as session:
        first = record_entry(session=session, entry=entry(order, reference="pi_first"))
    with session_scope(engine) as session:
        again = record_entry(session=session, entry=entry(order, reference="pi_second"))
        rows = entries_for_purchase(session=session, purchase_id=f"purchase-{order}")

    assert (again.id, again.reference) == (first.id, "pi_first")
    assert len(rows) == 1


def test_one_key_may_name_different_kinds_of_movement(engine: Engine) -> None:
    order = fresh_order()
    with session_scope(engine) as session:
        record_entry(session=session, entry=entry(order, LedgerKind.DEPOSIT_REFUNDED, amount_fen=9_000))
        record_entry(session=session, entry=entry(order, LedgerKind.CANCELLATION_FEE_KEPT, amount_fen=1_000))
        kinds = [r.kind for r in entries_for_purchase(session=session, purchase_id=f"purchase-{order}")]

    assert kinds == ["deposit_refunded", "cancellation_fee_kept"]


def test_concurrent_writers_of_one_key_leave_one_row_that_every_writer_gets_back(engine: Engine) -> None:
    order = fresh_order()

    def write(n: int) -> int | None:
        with session_scope(engine) as session:
            return record_entry(session=session, entry=entry(order, reference=f"pi_{n}")).id

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(write, range(16)))

    with session_scope(engine) as session:
        count = session.exec(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.purchase_id == f"purchase-{order}")
        ).one()
    assert len(ids) == 1 and count == 1


def test_a_day_streams_its_rows_by_purchase_then_insertion_and_leaves_other_days_out(engine: Engine) -> None:
    later, earlier = f"ZZ-{uuid.uuid4().hex[:8]}", f"AA-{uuid.uuid4().hex[:8]}"
    day = date(2031, 5, 17)
    noon = datetime(2031, 5, 17, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
    with session_scope(engine) as session:
        record_entry(session=session, entry=entry(later, occurred_at=noon))
        record_entry(session=session, entry=entry(earlier, LedgerKind.BALANCE_CHARGED, occurred_at=noon))
        record_entry(session=session, entry=entry(earlier, occurred_at=noon))
        record_entry(
            session=session, entry=entry(earlier, LedgerKind.DEPOSIT_REFUNDED, occurred_at=noon + timedelta(days=1))
        )
    with session_scope(engine) as session:
        rows = [(r.order_ref, r.kind) for r in entries_for_day(session=session, day=day, batch=2)]

    assert rows == [(earlier, "balance_charged"), (earlier, "deposit_charged"), (later, "deposit_charged")]


async def test_the_async_store_records_once_and_reads_a_purchase(engine: Engine) -> None:
    order = fresh_order()
    store = LedgerStore(engine)

    first = await store.record(entry(order))
    again = await store.record(entry(order))

    assert first.id == again.id
    assert [r.id for r in await store.for_purchase(f"purchase-{order}")] == [first.id]
    assert first.id in [r.id for r in await store.for_day(date(2027, 3, 2))]


def test_amounts_are_positive_and_times_carry_a_timezone() -> None:
    with pytest.raises(ValidationError):
        entry("ORD-1", amount_fen=0)
    with pytest.raises(ValidationError):
        entry("ORD-1", occurred_at=datetime(2027, 3, 1, 17, 30))


def test_the_sign_of_each_kind_follows_its_net() -> None:
    signed = {kind: signed_fen(kind, 100) for kind in LedgerKind}

    assert signed == {
        LedgerKind.DEPOSIT_CHARGED: 100,
        LedgerKind.BALANCE_CHARGED: 100,
        LedgerKind.DEPOSIT_REFUNDED: -100,
        LedgerKind.BALANCE_REFUNDED: -100,
        LedgerKind.LOAN_DISBURSED: 100,
        LedgerKind.PRINCIPAL_RETURNED: -100,
        LedgerKind.CANCELLATION_FEE_KEPT: 0,
        LedgerKind.SHIPMENT_CANCELLATION_FEE: 0,
    }


def outcome(order: str, **changes: Any) -> PurchaseOutcomeCreate:
    """A purchase cancelled after lock, changed by keyword."""
    fields: dict[str, Any] = {
        "purchase_id": f"purchase-{order}",
        "order_ref": order,
        "state": OutcomeState.CANCELLED,
        "locked": True,
        "fee_waived": False,
        "handed_over": False,
        "deposit_fen": 10_000,
        "cancellation_fee_fen": 10_000,
        "price_fen": 8_990_000,
        "premium_fen": 95_000,
        "purchase_tax_fen": 397_787,
        "plate_fee_fen": 50_000,
        "loan_principal_fen": 0,
        "balance_due_fen": 9_522_787,
        "ended_at": LATE_UTC,
    }
    return PurchaseOutcomeCreate.model_validate({**fields, **changes})


def test_an_outcome_is_written_once_per_purchase(engine: Engine) -> None:
    order = fresh_order()
    with session_scope(engine) as session:
        first = record_outcome(session=session, outcome=outcome(order))
    with session_scope(engine) as session:
        again = record_outcome(session=session, outcome=outcome(order, state=OutcomeState.FAILED))
        stored = get_outcome(session=session, purchase_id=f"purchase-{order}")

    assert again.id == first.id
    assert stored is not None and (stored.state, stored.market_day) == ("cancelled", date(2027, 3, 2))
