"""`carbuy db`: carbuy's own database schema (Alembic migrations run from code, no alembic.ini)."""

from __future__ import annotations

from typing import Annotated

import typer

from carbuy.runtime.settings import Settings

db_app = typer.Typer(help="carbuy's database: schema migrations.", no_args_is_help=True)


@db_app.command()
def upgrade() -> None:
    """Upgrade the configured database (CARBUY_DB__URL) to the newest revision; safe to run again."""
    from carbuy.store.db import make_engine, migrate
    from carbuy.store.migrator import current_revision

    engine = make_engine(Settings().db)
    try:
        migrate(engine)
        typer.echo(f"{engine.url.render_as_string(hide_password=True)} at revision {current_revision(engine)}")
    finally:
        engine.dispose()


@db_app.command()
def current() -> None:
    """Show the revision the configured database is at."""
    from carbuy.store.db import make_engine
    from carbuy.store.migrator import current_revision

    engine = make_engine(Settings().db)
    try:
        typer.echo(current_revision(engine) or "no revision (run `carbuy db upgrade`)")
    finally:
        engine.dispose()


@db_app.command()
def revision(
    message: Annotated[str, typer.Option("--message", "-m", help="what the revision changes")],
    autogenerate: Annotated[bool, typer.Option(help="diff the models against the upgraded database")] = True,
) -> None:
    """Write a new revision file under carbuy/store/migrations/versions (for developers changing a table)."""
    from alembic import command

    from carbuy.store.db import make_engine, migrate
    from carbuy.store.migrator import alembic_config

    engine = make_engine(Settings().db)
    try:
        migrate(engine)
        with engine.connect() as connection:
            command.revision(alembic_config(connection), message=message, autogenerate=autogenerate)
    finally:
        engine.dispose()
