"""The `carbuy` command: the dev stack, the processes, and the API's actions from a terminal."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from carbuy.cli.audit import audit_app
from carbuy.cli.chaos import chaos
from carbuy.cli.db import db_app
from carbuy.cli.finance import finance_app
from carbuy.cli.ops import ops_app
from carbuy.cli.outbox import outbox_app
from carbuy.cli.replay import replay
from carbuy.client.api import StarterClient
from carbuy.contract.order import FinancingPlan
from carbuy.runtime.settings import Settings

app = typer.Typer(
    help="carbuy: durable orchestration of an online car purchase on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
purchase_app = typer.Typer(help="Act on one purchase through the starter API.", no_args_is_help=True)
temporal_app = typer.Typer(help="Temporal cluster setup.", no_args_is_help=True)
codec_app = typer.Typer(help="The payload codec's keys.", no_args_is_help=True)
app.add_typer(purchase_app, name="purchase")
app.add_typer(temporal_app, name="temporal")
app.add_typer(codec_app, name="codec")
app.add_typer(db_app, name="db")
app.add_typer(finance_app, name="finance")
app.add_typer(ops_app, name="ops")
app.add_typer(outbox_app, name="outbox")
app.command("chaos")(chaos)
app.command("replay")(replay)
app.add_typer(audit_app, name="audit")


def _exit(code: int) -> None:
    """Flush and leave without interpreter finalisation (the SDK's native threads can abort it: sdk-python#300)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _as_backend(send: Callable[[StarterClient], Awaitable[httpx.Response]]) -> None:
    """Send one request as the platform's backend and print the answer (exit 1 on an error answer)."""

    async def once() -> httpx.Response:
        async with StarterClient.from_settings(Settings(), "backend") as api:
            return await send(api)

    _show(asyncio.run(once()))


def _show(response: httpx.Response) -> None:
    typer.echo(json.dumps(response.json(), indent=2, ensure_ascii=False))
    _exit(0 if response.is_success else 1)


@app.command()
def dev(
    demo: Annotated[bool, typer.Option(help="place a demo order and play the customer until it completes")] = False,
    exit_when_done: Annotated[bool, typer.Option(help="with --demo: stop the stack and exit when it ends")] = False,
    plan: Annotated[FinancingPlan, typer.Option(help="the demo order's financing plan")] = FinancingPlan.LOAN,
    with_prometheus: Annotated[
        bool, typer.Option(help="also run Prometheus scraping the stack (installed if missing)")
    ] = False,
) -> None:
    """Start Temporal (UI on 8233), localstripe, the partner sandbox, the worker and the API."""
    from carbuy.devtools.devrun import run_dev

    settings = Settings()
    state_dir = Path(settings.dev.state_dir).resolve()
    _exit(
        asyncio.run(
            run_dev(
                settings,
                state_dir,
                demo=demo,
                exit_when_done=exit_when_done,
                plan=plan,
                with_prometheus=with_prometheus,
            )
        )
    )


@app.command()
def worker() -> None:
    """Run the worker (SIGTERM/SIGINT drain it)."""
    import worker as worker_module

    worker_module.main()
    _exit(0)


@app.command()
def api() -> None:
    """Run the starter API."""
    from starter.__main__ import main

    main()


@app.command()
def sandbox() -> None:
    """Run the partner sandbox."""
    import runpy

    runpy.run_module("sandbox", run_name="__main__")


@app.command("codec-server")
def codec_server() -> None:
    """Run the codec server (Temporal's remote codec protocol) for the Web UI and the CLI; decoding needs ops."""
    import uvicorn

    from observability.logs import configure_logging
    from starter.codec_server import create_codec_app

    settings = Settings()
    configure_logging("codec-server")
    uvicorn.run(
        create_codec_app(settings), host=settings.codec.server_host, port=settings.codec.server_port, log_config=None
    )


@codec_app.command("new-key")
def codec_new_key() -> None:
    """Print a fresh random AES-256 key (base64) for codec.keys."""
    from carbuy.runtime.codec import new_key

    typer.echo(new_key())
    _exit(0)


@app.command("place-order")
def place_order(file: Annotated[Path, typer.Argument(help="the order as JSON ('-' for stdin)")]) -> None:
    """Place an order (POST /orders) and print the purchase it started."""
    body: Any = json.loads(sys.stdin.read() if str(file) == "-" else file.read_text())
    _as_backend(lambda api: api.place_order(body))


@purchase_app.command("status")
def status(order_id: str) -> None:
    """Print a purchase's status."""
    _as_backend(lambda api: api.status(order_id))


@purchase_app.command("pay-deposit")
def pay_deposit(order_id: str, payment_method: Annotated[str, typer.Option()]) -> None:
    """Pay the deposit with a payment method id."""
    _as_backend(lambda api: api.act(order_id, "deposit", {"payment_method": payment_method}))


@purchase_app.command("lock")
def lock(
    order_id: str,
    delivery_centre: Annotated[str, typer.Option()],
    plan: Annotated[FinancingPlan, typer.Option()],
    trim: str = "standard",
    colour: str = "green",
    down_payment_fen: int | None = None,
    term_months: int = 36,
) -> None:
    """Lock trim, colour, delivery centre and plan."""
    body: dict[str, Any] = {
        "trim": trim,
        "colour": colour,
        "delivery_centre": delivery_centre,
        "financing_plan": plan.value,
    }
    if down_payment_fen is not None:
        body["loan"] = {"down_payment_fen": down_payment_fen, "term_months": term_months}
    _as_backend(lambda api: api.act(order_id, "lock", body))


@purchase_app.command("pay-balance")
def pay_balance(order_id: str, payment_method: Annotated[str, typer.Option()]) -> None:
    """Pay the balance with a payment method id."""
    _as_backend(lambda api: api.act(order_id, "balance", {"payment_method": payment_method}))


@purchase_app.command("handover")
def handover(
    order_id: str, accept: Annotated[bool, typer.Option("--accept/--refuse")] = True, reason: str | None = None
) -> None:
    """Accept or refuse the car at the delivery centre."""
    _as_backend(lambda api: api.act(order_id, "handover", {"accepted": accept, "reason": reason}))


@purchase_app.command("cancel")
def cancel(order_id: str, reason: str = "customer request") -> None:
    """Cancel the purchase (before handover)."""
    _as_backend(lambda api: api.act(order_id, "cancel", {"reason": reason}))


@temporal_app.command("setup")
def temporal_setup() -> None:
    """Register carbuy's search attributes on the configured Temporal cluster (idempotent)."""
    from carbuy.runtime.temporal import connect, register_search_attributes

    async def run() -> list[str]:
        settings = Settings()
        client = await connect(settings)
        return await register_search_attributes(client, settings.temporal.namespace)

    added = asyncio.run(run())
    typer.echo(f"registered: {', '.join(added)}" if added else "search attributes already registered")
    _exit(0)


def main() -> None:
    """Console-script entry point."""
    app()
