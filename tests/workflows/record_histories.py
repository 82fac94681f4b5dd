"""Record the histories the replay test replays: `python -m tests.workflows.record_histories [NAME ...]`.

Run it after an intended, versioned change of PurchaseWorkflow; commit the JSON files it writes. With names, only
those are recorded (the others stay as they were: today's code must still replay them).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import (
    CancelInput,
    PayInput,
    PurchaseInput,
    PurchaseResult,
    SwitchToFullPaymentInput,
    Update,
)
from carbuy.devtools.processes import bin_path
from carbuy.runtime.temporal import register_search_attributes
from tests.factories import purchase_input
from tests.fixtures.temporal import TEST_CONVERTER
from tests.workflows.driver import (
    act,
    buy_until_handover,
    pay_and_lock,
    pay_balance_and_accept,
    purchase_worker,
    start,
    until,
    waiting_for,
)
from tests.workflows.fakes import FakePartners
from workflows.purchase import PurchaseWorkflow

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
Handle = WorkflowHandle[PurchaseWorkflow, PurchaseResult]


async def _complete(handle: Handle, input: PurchaseInput) -> None:
    await buy_until_handover(handle, input)


async def _cancel_after_lock(handle: Handle, input: PurchaseInput) -> None:
    await pay_and_lock(handle, input)
    await act(handle, Update.CANCEL, CancelInput(reason="changed my mind"))


async def _switch_to_full_payment(handle: Handle, input: PurchaseInput) -> None:
    await pay_and_lock(handle, input)
    await until(handle, waiting_for("switch to full payment"))
    await act(handle, Update.SWITCH_TO_FULL_PAYMENT, SwitchToFullPaymentInput())
    await pay_balance_and_accept(handle)


async def _deposit_expires(handle: Handle, input: PurchaseInput) -> None:
    return None


async def _declined_then_paid(handle: Handle, input: PurchaseInput) -> None:
    await until(handle, waiting_for("deposit"))
    await act(handle, Update.PAY_DEPOSIT, PayInput(payment_method="pm_card_chargeDeclined"))
    await pay_and_lock(handle, input)  # once the cool-down let the deposit be paid again
    await pay_balance_and_accept(handle)


Drive = Callable[[Handle, PurchaseInput], Awaitable[None]]
SCENARIOS: dict[str, tuple[PurchaseInput, Drive, set[str]]] = {
    **{f"completed_{plan.value}": (purchase_input(plan), _complete, set()) for plan in FinancingPlan},
    "cancelled_after_lock_loan": (purchase_input(FinancingPlan.LOAN), _cancel_after_lock, set()),
    "expired_before_deposit": (purchase_input(FinancingPlan.FULL), _deposit_expires, set()),
    "reallocated_after_damage_full": (purchase_input(FinancingPlan.FULL), _complete, {"damaged"}),
    "deposit_declined_then_paid_full": (purchase_input(FinancingPlan.FULL), _declined_then_paid, set()),
    "switched_to_full_after_denied_loan": (
        purchase_input(FinancingPlan.LOAN),
        _switch_to_full_payment,
        {"loan_denied"},
    ),
}


async def record(names: list[str]) -> None:
    """Run the named scenarios (default: every one) on the time-skipping server and save their histories."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=bin_path("temporal-test-server"), data_converter=TEST_CONVERTER
    )
    await register_search_attributes(env.client, "default", check_existing=False)
    try:
        HISTORIES.mkdir(exist_ok=True)
        for name, (input, drive, scenarios) in SCENARIOS.items():
            if names and name not in names:
                continue
            partners = FakePartners(env.client, scenarios=set(scenarios))
            async with purchase_worker(env.client, partners) as queue:
                handle = await start(env.client, queue, input)
                await drive(handle, input)
                result = await handle.result()
            history = await handle.fetch_history()
            (HISTORIES / f"{name}.json").write_text(history.to_json())
            print(f"{name}: {result.state.value}, {len(history.events)} events")  # noqa: T201
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:]))
    os._exit(0)
