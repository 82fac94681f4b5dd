"""`carbuy audit`: audits over everything carbuy did, purchase by purchase."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from carbuy.runtime.settings import Settings

audit_app = typer.Typer(
    help="Audits over every purchase (the daily reconciliation works per day).", no_args_is_help=True
)


def _leave(code: int) -> None:
    """Flush and leave without interpreter finalisation (sdk-python#300), as every carbuy command does."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@audit_app.command()
def money(
    order: Annotated[
        list[str] | None, typer.Option("--order", metavar="REF", help="audit only this order (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole audit as JSON")] = False,
) -> None:
    """Stripe's net, the ledger's and the outcome's, per purchase; every duplicate charge or refund.

    Exit 0: clean; 1: discrepancies (listed); 2: Stripe or the database could not be read.
    """
    import stripe
    from sqlalchemy.exc import SQLAlchemyError

    from carbuy.finance.audit.money import audit_money_sync

    try:
        audit = audit_money_sync(Settings(), order_refs=order)
    except (stripe.StripeError, SQLAlchemyError) as err:
        typer.echo(f"money audit not done: {type(err).__name__}: {err}", err=True)
        _leave(2)
        return
    if as_json:
        typer.echo(audit.model_dump_json(indent=2))
        _leave(0 if audit.ok else 1)
    console = Console()
    differing = [p for p in audit.purchases if not p.ok]
    if differing:
        table = Table(title="purchases with a difference")
        for heading in ("order", "state", "Stripe net", "ledger net", "expected", "lender / expected"):
            table.add_column(heading, no_wrap=True, justify="left" if heading in ("order", "state") else "right")
        table.add_column("discrepancies", ratio=1)
        for purchase in differing:
            found = "\n".join(f"{d.kind.value}: {d.explanation}" for d in audit.of(purchase.order_ref))
            table.add_row(
                purchase.order_ref,
                purchase.state,
                _fen(purchase.stripe_net_fen),
                _fen(purchase.ledger_net_fen),
                _fen(purchase.expected_net_fen),
                f"{_fen(purchase.ledger_lender_fen)} / {_fen(purchase.expected_lender_fen)}",
                found,
            )
        console.print(table)
    counts = ", ".join(f"{kind}: {n}" for kind, n in audit.by_kind.items())
    verdict = "[green]clean[/green]" if audit.ok else f"[red]{len(audit.discrepancies)} discrepancies[/red] ({counts})"
    console.print(
        f"{audit.purchases_audited} purchases audited; Stripe net {_fen(audit.stripe_net_fen)}, ledger net "
        f"{_fen(audit.ledger_net_fen)}, expected {_fen(audit.expected_net_fen)} CNY; {verdict}"
    )
    _leave(0 if audit.ok else 1)


def _fen(value: int | None) -> str:
    return "-" if value is None else f"{value / 100:,.2f}"
