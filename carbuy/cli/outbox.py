"""`carbuy outbox`: the notification outbox (the worker drains it continuously; this drains it once)."""

from __future__ import annotations

import asyncio

import typer

from carbuy.runtime.settings import Settings

outbox_app = typer.Typer(help="The notification outbox.", no_args_is_help=True)


@outbox_app.command()
def drain() -> None:
    """Send every pending message now (safe while workers send too); exit 1 if one had to wait or failed."""
    from activities.outbox import DrainReport, OutboxSender

    async def run() -> DrainReport:
        sender = OutboxSender.from_settings(Settings())
        try:
            return await sender.drain()
        finally:
            await sender.aclose()

    report = asyncio.run(run())
    typer.echo(f"sent {report.sent}, left for later {report.later}, failed {report.failed}")
    raise typer.Exit(1 if report.later or report.failed else 0)


@outbox_app.command()
def status() -> None:
    """How many messages are pending, sent and failed."""
    from carbuy.store.db import make_engine, migrate, session_scope
    from carbuy.store.outbox import count_by_status

    engine = make_engine(Settings().db)
    try:
        migrate(engine)
        with session_scope(engine) as session:
            counts = count_by_status(session=session)
    finally:
        engine.dispose()
    typer.echo(", ".join(f"{status.value} {n}" for status, n in counts.items()))
