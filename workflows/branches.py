"""After lock, three branches run side by side: the vehicle, its financing, its insurance."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from temporalio import workflow

from workflows.context import Purchase
from workflows.financing import financing
from workflows.insurance import insurance, insure_the_delivered_vin
from workflows.vehicle import vehicle

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.purchase import Branch, PurchaseStage


async def run_branches(p: Purchase) -> None:
    """Run vehicle, financing and insurance together; when one fails the others stop at their next step.

    Siblings are not cancelled mid-activity: a step in flight finishes and records its undo first, so
    compensation never misses what a partner already did.
    """
    p.tracker.start_branches(
        {
            Branch.VEHICLE: PurchaseStage.ALLOCATION,
            Branch.FINANCING: PurchaseStage.FINANCING,
            Branch.INSURANCE: PurchaseStage.INSURANCE,
        }
    )
    coros: list[Coroutine[Any, Any, None]] = [vehicle(p), financing(p), insurance(p)]
    tasks = [asyncio.create_task(c) for c in coros]
    await workflow.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    failed = next((t for t in tasks if t.done() and t.exception() is not None), None)
    if failed is None:
        await insure_the_delivered_vin(p)
        return
    error = failed.exception()
    p.stop_reason = str(error)
    await workflow.wait(tasks)
    raise error  # type: ignore[misc]
