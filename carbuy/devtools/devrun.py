"""`carbuy dev`: bring the stack up, optionally run the demo purchase, keep it up until Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import typer

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage, purchase_workflow_id
from carbuy.devtools.demo import DemoCustomer, demo_order
from carbuy.devtools.devstack import DevStack, stack_settings
from carbuy.finance.schedule import start_dev_schedule
from carbuy.runtime.settings import Settings
from observability.prometheus import scrape_targets


async def run_dev(
    base: Settings,
    state_dir: Path,
    *,
    demo: bool,
    exit_when_done: bool,
    plan: FinancingPlan,
    with_prometheus: bool = False,
) -> int:
    """Run the dev stack with its state under state_dir; the exit code (non-zero when the demo did not complete)."""
    dev = base.dev
    settings = stack_settings(
        base,
        temporal_port=dev.temporal_port,
        ui_port=dev.temporal_ui_port,
        localstripe_port=dev.localstripe_port,
        api_port=base.api.port,
        sandbox_port=base.sandbox.port,
        state_dir=state_dir,
        time_scale=dev.demo_time_scale,
        deadline_floor_s=dev.demo_deadline_floor_s,
    )
    stack = DevStack(settings, state_dir, dev.temporal_port, dev.temporal_ui_port, dev.localstripe_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):  # from the start, so Ctrl-C at any moment stops everything
        loop.add_signal_handler(sig, stop.set)
    typer.echo(f"starting the dev stack (logs in {state_dir / 'logs'}) ...")
    started = time.monotonic()
    try:
        await stack.start()
        ui = settings.temporal.ui_url
        typer.echo(
            f"up in {time.monotonic() - started:.1f}s: API {stack.api_url}/docs, "
            f"sandbox {settings.partners.base_url}/docs, Temporal UI {ui}"
        )
        typer.echo(metrics_line(settings))
        typer.echo(await start_dev_schedule(settings, stack.api_url))
        if with_prometheus and not stop.is_set():
            try:
                prometheus = await asyncio.to_thread(stack.start_prometheus, dev.prometheus_port)
            except (RuntimeError, TimeoutError) as err:
                typer.echo(f"Prometheus did not start: {err}", err=True)
                return 1
            typer.echo(f"Prometheus {prometheus} (alerts: {prometheus}/alerts; config in {state_dir / 'prometheus'})")
        code = 0
        if demo and not stop.is_set():
            code = await _unless_stopped(_demo(settings, stack, plan), stop, default=1)
            if exit_when_done:
                return code
        if not stop.is_set():
            typer.echo(
                f"the stack keeps running; Temporal UI: {ui}/namespaces/{settings.temporal.namespace}"
                "/workflows -- Ctrl-C stops every process"
            )
            await _unless_stopped(_watch(stack), stop, default=0)
        return code
    finally:
        stack.stop()
        typer.echo("stopped every process of the dev stack")


def metrics_line(settings: Settings) -> str:
    """Where each process of the stack serves its metrics."""
    targets = scrape_targets(settings.metrics)
    return "metrics: " + ", ".join(f"{t.job.removeprefix('carbuy-')} http://{t.address}/metrics" for t in targets)


async def _unless_stopped(work: Coroutine[Any, Any, int], stop: asyncio.Event, *, default: int) -> int:
    """The work's result, or default if Ctrl-C/SIGTERM came first (the work is then cancelled)."""
    task = asyncio.ensure_future(work)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait({task, stopped}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if task.done():
        return task.result()
    task.cancel()
    return default


async def _demo(settings: Settings, stack: DevStack, plan: FinancingPlan) -> int:
    customer = DemoCustomer(settings, stack.api_url, typer.echo)
    started = time.monotonic()
    try:
        order_id = await customer.place(demo_order(plan))
        typer.echo(
            f"watch it: {settings.temporal.ui_url}/namespaces/{settings.temporal.namespace}/workflows/"
            f"{purchase_workflow_id(order_id)}"
        )
        final = await customer.buy(order_id)
    finally:
        await customer.aclose()
    typer.echo(
        f"purchase {final.stage.value} in {time.monotonic() - started:.1f}s "
        f"(paid {final.amounts.paid / 100:.2f} CNY, refunded {final.amounts.refunded / 100:.2f} CNY, "
        f"plate {final.plate})"
    )
    return 0 if final.stage == PurchaseStage.COMPLETED else 1


async def _watch(stack: DevStack) -> int:
    """Fail (with the log's tail) as soon as a process of the stack dies."""
    while True:
        stack.check_alive()
        await asyncio.sleep(2.0)
