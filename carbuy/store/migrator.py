"""Alembic run from code: `upgrade head` without an alembic.ini, serialised between processes starting at once."""

from __future__ import annotations

import fcntl
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

TABLE_MODULES = (
    "carbuy.store.payment_keys",
    "carbuy.store.ledger",
    "carbuy.store.outcomes",
    "carbuy.store.processor_events",
    "carbuy.store.outbox",
    "carbuy.store.reports",
)
"""Every module that declares a table; importing them puts every table on SQLModel.metadata."""

_PG_LOCK = "SELECT pg_advisory_lock(hashtext('carbuy-migrate:' || current_schema()))"
_PG_UNLOCK = "SELECT pg_advisory_unlock(hashtext('carbuy-migrate:' || current_schema()))"


def import_tables() -> None:
    """Register every carbuy table on SQLModel.metadata."""
    for module in TABLE_MODULES:
        importlib.import_module(module)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code, using this connection when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_head(engine: Engine) -> None:
    """Upgrade the schema to the newest revision; a second process doing the same waits, then finds nothing to do."""
    with _exclusive(engine) as connection, connection.begin():
        command.upgrade(alembic_config(connection), "head")


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None before the first upgrade)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _exclusive(engine: Engine) -> Iterator[Connection]:
    """A connection held alone among carbuy's migrators: a PostgreSQL advisory lock, a file lock for SQLite."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(_PG_LOCK))
            connection.commit()
            try:
                yield connection
            finally:
                connection.rollback()
                connection.execute(text(_PG_UNLOCK))
                connection.commit()
        elif engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            with _file_lock(Path(f"{engine.url.database}.migrate.lock")):
                yield connection
        else:
            yield connection


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on a file (blocks until free); released when the holder closes it, also by dying."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
