"""`carbuy finance`: reconcile a day in this process, read stored reports, set up the daily schedule."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from carbuy.contract.finance import day_to_reconcile
from carbuy.runtime.settings import Settings

finance_app = typer.Typer(help="Finance: the daily reconciliation and its reports.", no_args_is_help=True)
DayOption = Annotated[str, typer.Option("--day", help="YYYY-MM-DD (an Asia/Shanghai day), 'today' or 'yesterday'")]


def parse_day(value: str) -> date:
    """A day from the command line."""
    if value == "today":
        return day_to_reconcile(datetime.now(UTC), "today")
    if value == "yesterday":
        return day_to_reconcile(datetime.now(UTC), "yesterday")
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise typer.BadParameter(f"not a day: {value!r} (YYYY-MM-DD, today or yesterday)") from err


class ProgressBars:
    """One rich progress bar per phase of the run (a spinner and a count where the total is not known)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        """Show how far a phase has got."""
        if phase not in self.tasks:
            for task in self.progress.tasks:  # the phases before are done: their counts become their totals
                if task.total is None:
                    self.progress.update(task.id, total=task.completed)
            self.tasks[phase] = self.progress.add_task(phase, total=total)
        self.progress.update(self.tasks[phase], completed=done, total=total)


@finance_app.command()
def reconcile(
    day: DayOption = "yesterday",
    show: Annotated[int, typer.Option(help="discrepancies to list (the report has them all)")] = 50,
) -> None:
    """Reconcile a day against the configured database, Stripe and lender; store its report.

    Exit 0: clean; 1: discrepancies (listed); 2: a counterparty could not be read (nothing stored).
    """
    import httpx
    import stripe

    from carbuy.finance.lender import MalformedSettlementFile
    from carbuy.finance.run import reconcile_and_keep
    from carbuy.store.db import make_engine, migrate

    settings, wanted = Settings(), parse_day(day)
    engine = make_engine(settings.db)
    try:
        migrate(engine)
        columns = (
            SpinnerColumn(),
            TextColumn("{task.description:<18}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
            report = reconcile_and_keep(settings, engine, wanted, progress=ProgressBars(progress))
    except (httpx.HTTPError, stripe.StripeError, MalformedSettlementFile) as err:
        typer.echo(f"reconciliation of {wanted} not done: {type(err).__name__}: {err}", err=True)
        raise typer.Exit(2) from err
    finally:
        engine.dispose()
    console = Console()
    result = report.result()
    console.print(
        f"[bold]{wanted}[/bold]: {report.ledger_rows} ledger rows, {report.processor_objects} processor "
        f"objects, {report.lender_lines} lender lines, {report.purchases_ended} purchases ended"
    )
    if result.clean:
        console.print("[green]clean: no discrepancy[/green]")
        raise typer.Exit(0)
    table = Table("type", "purchase", "expected", "actual", "reference", "explanation", title="discrepancies")
    for found in report.discrepancies[:show]:
        table.add_row(
            found.type.value,
            found.purchase_id,
            _fen(found.expected_fen),
            _fen(found.actual_fen),
            found.reference or "",
            found.explanation,
        )
    console.print(table)
    counts = ", ".join(f"{kind.value}: {n}" for kind, n in result.by_type.items())
    console.print(
        f"[red]{result.discrepancies} discrepancies[/red] ({counts}); "
        f"`carbuy finance report --day {wanted}` shows the whole report"
    )
    raise typer.Exit(1)


@finance_app.command()
def report(
    day: DayOption = "yesterday",
    format: Annotated[Literal["html", "csv"], typer.Option("--format", help="html or csv")] = "html",
    out: Annotated[Path | None, typer.Option(help="write to this file instead of stdout")] = None,
) -> None:
    """Print (or write) the stored report of a day."""
    from carbuy.store.db import make_engine, session_scope
    from carbuy.store.reports import get_report

    wanted = parse_day(day)
    engine = make_engine(Settings().db)
    try:
        with session_scope(engine) as session:
            record = get_report(session=session, day=wanted)
    finally:
        engine.dispose()
    if record is None:
        typer.echo(f"no report for {wanted}: run `carbuy finance reconcile --day {wanted}`", err=True)
        raise typer.Exit(1)
    text = record.html if format == "html" else record.csv
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{out}: {record.discrepancies} discrepancies, {record.movements} movements", err=True)


@finance_app.command("reports")
def list_stored() -> None:
    """The stored reports, newest day first."""
    from carbuy.store.db import make_engine, session_scope
    from carbuy.store.reports import list_reports

    engine = make_engine(Settings().db)
    try:
        with session_scope(engine) as session:
            for summary in list_reports(session=session):
                typer.echo(
                    f"{summary.day}  {summary.discrepancies:>6} discrepancies  {summary.movements:>9} movements"
                    f"  generated {summary.generated_at:%Y-%m-%d %H:%M} UTC"
                )
    finally:
        engine.dispose()


@finance_app.command()
def schedule() -> None:
    """Create or update the reconciliation's Temporal Schedule on the configured cluster (idempotent)."""
    from carbuy.contract.finance import SCHEDULE_ID
    from carbuy.finance.schedule import ensure_schedule
    from carbuy.runtime.temporal import connect

    async def run() -> tuple[str, Sequence[datetime]]:
        settings = Settings()
        client = await connect(settings)
        done = await ensure_schedule(client, settings)
        described = await client.get_schedule_handle(SCHEDULE_ID).describe()
        return done, described.info.next_action_times[:3]

    done, upcoming = asyncio.run(run())
    typer.echo(f"schedule {SCHEDULE_ID} {done}; next runs: {', '.join(t.isoformat() for t in upcoming)}")
    # Leave without interpreter finalisation: the Temporal SDK's native threads can abort it (sdk-python#300).
    sys.stdout.flush()
    os._exit(0)


def _fen(value: int | None) -> str:
    return "" if value is None else f"{value / 100:,.2f}"
