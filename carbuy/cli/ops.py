"""`carbuy ops`: find stuck purchases and act on them through the starter API, with the ops token."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

import httpx
import typer
from pydantic import TypeAdapter
from rich.console import Console
from rich.table import Table

from carbuy.client.api import OpsAction, StarterClient
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage
from carbuy.runtime.settings import Settings

ops_app = typer.Typer(
    help="Ops: list stuck purchases, read why, and fix them (starter API, ops token).", no_args_is_help=True
)

DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
Operator = Annotated[str, typer.Option("--operator", help="your login; kept in the purchase's history")]
Reason = Annotated[str, typer.Option("--reason", help="why; kept in the purchase's history")]


def parse_duration(text: str) -> timedelta:
    """'2d', '36h', '90m' or '1d12h' as a timedelta."""
    match = DURATION.match(text.strip())
    if not text.strip() or match is None:
        raise typer.BadParameter(f"{text!r}: use days, hours and minutes such as 2d, 36h, 1d12h or 90m")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _leave(code: int) -> None:
    """Flush and leave without interpreter finalisation (sdk-python#300), as every carbuy command does."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _call(send: Callable[[StarterClient], Awaitable[httpx.Response]]) -> dict[str, Any]:
    """Call the API as ops; on an error print its detail and exit 1."""

    async def once() -> httpx.Response:
        async with StarterClient.from_settings(Settings(), "ops") as api:
            return await send(api)

    try:
        response = asyncio.run(once())
    except httpx.HTTPError as exc:
        typer.echo(f"error: the API did not answer: {exc}", err=True)
        _leave(1)
    if not response.is_success:
        typer.echo(f"error {response.status_code}: {_problem(response)}", err=True)
        _leave(1)
    answer: dict[str, Any] = response.json()
    return answer


def _problem(response: httpx.Response) -> str:
    """The API's `detail` (and the purchase's stage, when it says)."""
    try:
        body = response.json()
    except ValueError:
        return response.text or response.reason_phrase
    detail = body.get("detail", body) if isinstance(body, dict) else body
    text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
    stage = body.get("stage") if isinstance(body, dict) else None
    return f"{text} (stage {stage})" if stage and f"stage {stage}" not in text else text


def _act(order_id: str, action: OpsAction, body: dict[str, Any]) -> None:
    answer = _call(lambda api: api.ops(order_id, action, body))
    typer.echo(f"{answer['message']} (stage {answer['stage']}, state {answer['state']})")
    _leave(0)


@ops_app.command("stuck")
def stuck(
    city: Annotated[str | None, typer.Option(help="e.g. Guangzhou")] = None,
    stage: Annotated[PurchaseStage | None, typer.Option(help="the stage it is stuck in")] = None,
    centre: Annotated[str | None, typer.Option("--centre", help="delivery centre")] = None,
    plan: Annotated[FinancingPlan | None, typer.Option(help="financing plan")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 200,
) -> None:
    """List the purchases that need attention, longest stuck first."""
    params: dict[str, str | int] = {"limit": limit}
    for name, value in (("city", city), ("stage", stage), ("delivery_centre", centre), ("plan", plan)):
        if value is not None:
            params[name] = str(value)
    answer = _call(lambda api: api.stuck(params))
    table = Table(title=f"{len(answer['purchases'])} stuck: {answer['query']}", title_justify="left")
    for column in ("order", "stage", "state", "stuck since (UTC)", "city", "delivery centre", "plan"):
        table.add_column(column)
    for row in answer["purchases"]:
        since = (row["stuck_since"] or "")[:19].replace("T", " ")
        table.add_row(
            row["order_id"],
            row["stage"] or "",
            row["state"] or "",
            since,
            row["city"] or "",
            row["delivery_centre"] or "",
            row["plan"] or "",
        )
    Console(width=160).print(table)
    _leave(0)


@ops_app.command("show")
def show(order_id: str) -> None:
    """Status, attention (why, since when), failed undos, the UI's summary and current details."""
    typer.echo(json.dumps(_call(lambda api: api.show(order_id)), indent=2, ensure_ascii=False))
    _leave(0)


@ops_app.command("retry")
def retry(order_id: str, operator: Operator, reason: Reason) -> None:
    """Send the partner requests the purchase waits on again (same keys), or run failed undos again."""
    _act(order_id, "retry", {"operator": operator, "reason": reason})


@ops_app.command("correct-registration")
def correct_registration(
    order_id: str,
    operator: Operator,
    reason: Reason,
    owner_name: Annotated[str, typer.Option(help="the owner's name as on the id card")],
    owner_id_number: Annotated[str, typer.Option(help="18-character id card number")],
) -> None:
    """Resubmit a rejected plate registration with corrected owner data."""
    _act(
        order_id,
        "correct-registration",
        {"operator": operator, "reason": reason, "owner_name": owner_name, "owner_id_number": owner_id_number},
    )


@ops_app.command("delivery-centre")
def delivery_centre(
    order_id: str,
    operator: Operator,
    reason: Reason,
    centre: Annotated[str, typer.Option(help="the new delivery centre")],
) -> None:
    """Deliver to another delivery centre (before the shipment is booked)."""
    _act(order_id, "delivery-centre", {"operator": operator, "reason": reason, "delivery_centre": centre})


@ops_app.command("extend")
def extend(
    order_id: str,
    operator: Operator,
    reason: Reason,
    by: Annotated[
        timedelta,
        typer.Option(
            "--by", parser=parse_duration, metavar="2d|36h|90m", help="how much later every current deadline is"
        ),
    ],
) -> None:
    """Push back every deadline the purchase waits on now."""
    extend_by = TypeAdapter(timedelta).dump_python(by, mode="json")
    _act(order_id, "extend-deadline", {"operator": operator, "reason": reason, "extend_by": extend_by})


@ops_app.command("cancel")
def cancel(
    order_id: str,
    operator: Operator,
    reason: Reason,
    charge_fee: Annotated[bool, typer.Option(help="keep the cancellation fee (waived by default)")] = False,
) -> None:
    """Cancel the purchase with compensation."""
    _act(order_id, "cancel", {"operator": operator, "reason": reason, "waive_fee": not charge_fee})


@ops_app.command("resolve-undo")
def resolve_undo(
    order_id: str,
    operator: Operator,
    reason: Reason,
    undo: Annotated[str, typer.Option(help="the failed undo's kind, e.g. refund_deposit")],
    reference: Annotated[str, typer.Option(help="its reference, as `carbuy ops show` lists it")],
    external_reference: Annotated[str, typer.Option(help="what was done by hand, e.g. the manual refund's id")],
) -> None:
    """Record that a failed undo was done by hand."""
    _act(
        order_id,
        "resolve-undo",
        {
            "operator": operator,
            "reason": reason,
            "undo": undo,
            "reference": reference,
            "external_reference": external_reference,
        },
    )
