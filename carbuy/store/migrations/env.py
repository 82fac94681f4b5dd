"""Alembic environment: carbuy's tables on SQLModel.metadata, run on the connection the migrator hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

from carbuy.store.migrator import import_tables

import_tables()
target_metadata = SQLModel.metadata


def run_migrations(connection: Connection) -> None:
    """Run the pending revisions in the connection's transaction."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place: later revisions copy the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run carbuy's migrations through carbuy.store.migrator (`carbuy db upgrade`)")
run_migrations(connection)
