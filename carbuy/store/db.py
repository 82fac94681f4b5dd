"""The SQLModel engine built from DatabaseSettings, schema migration and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from carbuy.runtime.settings import DatabaseSettings

_IN_MEMORY = {None, "", ":memory:"}


def make_engine(settings: DatabaseSettings) -> Engine:
    """An engine for the configured URL (SQLite file or PostgreSQL via psycopg), creating a SQLite file's folder."""
    url = make_url(settings.url)
    if url.get_backend_name() == "sqlite":
        if url.database not in _IN_MEMORY:
            Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
        # Activities use sessions from worker threads; each session still has its own connection.
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    """Write-ahead log: the worker, the API and the CLI share the file, readers never wait for a writer, and a
    commit appends to the log instead of syncing the database file twice (synchronous=NORMAL keeps every commit
    durable across a process crash; a power cut may lose the last ones, which the activities' keys redo).
    A writer waits up to 5 s for another process's write instead of failing at once."""
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest Alembic revision; safe to call again and from several processes at once."""
    from carbuy.store.migrator import upgrade_head

    upgrade_head(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose objects stay readable after commit; the CRUD functions commit themselves."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
