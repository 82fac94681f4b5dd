"""The SQLModel engine built from DatabaseSettings, table creation and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlmodel import Session, SQLModel, create_engine

from carbuy.settings import DatabaseSettings

_IN_MEMORY = {None, "", ":memory:"}


def make_engine(settings: DatabaseSettings) -> Engine:
    """An engine for the configured URL (SQLite file or PostgreSQL via psycopg), creating a SQLite file's folder."""
    url = make_url(settings.url)
    if url.get_backend_name() == "sqlite":
        if url.database not in _IN_MEMORY:
            Path(str(url.database)).parent.mkdir(parents=True, exist_ok=True)
        # Activities use sessions from worker threads; each session still has its own connection.
        return create_engine(url, connect_args={"check_same_thread": False})
    return create_engine(url, pool_pre_ping=True)


def create_all(engine: Engine) -> None:
    """Create the missing tables; safe to call again and from several processes starting at once."""
    from carbuy.store import payment_keys  # noqa: F401  (registers the tables on SQLModel.metadata)

    try:
        SQLModel.metadata.create_all(engine)
    except (IntegrityError, ProgrammingError):
        # Another process created the same table between our check and our CREATE: check again.
        SQLModel.metadata.create_all(engine)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session whose objects stay readable after commit; the CRUD functions commit themselves."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
