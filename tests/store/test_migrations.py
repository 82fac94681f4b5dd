"""Alembic migrations: a fresh or an old database upgrades to the models' schema, again and from several at once."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlmodel import SQLModel

from carbuy.devtools.processes import bin_path
from carbuy.runtime.settings import DatabaseSettings
from carbuy.store.db import make_engine, migrate, session_scope
from carbuy.store.migrator import alembic_config, current_revision, import_tables
from carbuy.store.payment_keys import PaymentKeyCreate, PaymentObjectType, get_by_key, record

ROOT = Path(__file__).resolve().parents[2]
CARBUY = [bin_path("carbuy")]
CARBUY_TABLES = {"payment_keys", "ledger_entries", "purchase_outcomes", "processor_events"}


def head() -> str:
    """The newest revision; one head only, so revisions written side by side are chained, not forked."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"several heads: {heads}"
    return heads[0]


def differences(engine: Engine) -> list[object]:
    """What Alembic's autogenerate finds between the database and the models (nothing, when they match)."""
    import_tables()
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, SQLModel.metadata))


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind carbuy supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'carbuy.db'}"
    url: str = request.getfixturevalue("fresh_postgres_url")
    return url


def test_a_fresh_database_upgrades_to_the_models_and_a_second_upgrade_changes_nothing(fresh_url: str) -> None:
    engine = make_engine(DatabaseSettings(url=fresh_url))
    try:
        assert current_revision(engine) is None
        migrate(engine)
        migrate(engine)

        assert current_revision(engine) == head()
        assert set(inspect(engine).get_table_names()) >= CARBUY_TABLES
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_threads_upgrading_at_once_all_succeed_and_agree(fresh_url: str) -> None:
    engines = [make_engine(DatabaseSettings(url=fresh_url)) for _ in range(4)]
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(migrate, engines))

        assert current_revision(engines[0]) == head()
        assert differences(engines[0]) == []
    finally:
        for engine in engines:
            engine.dispose()


def test_processes_starting_at_once_each_upgrade_with_the_cli_without_error(fresh_url: str) -> None:
    env = {**os.environ, "CARBUY_DB__URL": fresh_url}
    processes = [
        subprocess.Popen(
            CARBUY + ["db", "upgrade"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(3)
    ]
    outputs = [(process.wait(timeout=120), process.stdout.read() if process.stdout else "") for process in processes]

    assert [code for code, _ in outputs] == [0, 0, 0], outputs
    assert all(output.strip().endswith(f"at revision {head()}") for _, output in outputs), outputs
    engine = make_engine(DatabaseSettings(url=fresh_url))
    try:
        assert current_revision(engine) == head()
        assert differences(engine) == []
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [head()]
    finally:
        engine.dispose()


def test_a_database_made_by_the_former_create_all_keeps_its_payment_keys(tmp_path: Path) -> None:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'old.db'}"))
    try:
        SQLModel.metadata.create_all(engine, tables=[SQLModel.metadata.tables["payment_keys"]])
        with session_scope(engine) as session:
            record(
                session=session,
                payment_key=PaymentKeyCreate(
                    key="purchase-OLD-1:deposit",
                    object_type=PaymentObjectType.PAYMENT_INTENT,
                    object_id="pi_old",
                    order_ref="OLD-1",
                    amount_fen=10_000,
                ),
            )
        assert "alembic_version" not in inspect(engine).get_table_names()

        migrate(engine)

        with session_scope(engine) as session:
            kept = get_by_key(session=session, key="purchase-OLD-1:deposit")
        assert kept is not None and kept.object_id == "pi_old"
        assert current_revision(engine) == head()
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_payment_keys_keep_their_constraint_and_index_names(tmp_path: Path) -> None:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'names.db'}"))
    try:
        migrate(engine)
        inspector = inspect(engine)
        assert [u["name"] for u in inspector.get_unique_constraints("payment_keys")] == ["uq_payment_keys_key"]
        assert [i["name"] for i in inspector.get_indexes("payment_keys")] == ["ix_payment_keys_order_ref"]
    finally:
        engine.dispose()
