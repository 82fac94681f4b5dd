"""A customer who acted in time is never expired: an admitted payment runs to its end past its window, and a
decline that came after the window still leaves the customer time to pay again (IN_TIME_ACTIONS)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from carbuy.contract.activities import Activity
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PayInput, PurchaseResult, PurchaseStage, PurchaseState, Update
from carbuy.domain.policy import PurchasePolicy
from tests.eventually import eventually
from tests.factories import purchase_input
from tests.workflows.driver import (
    GOOD_CARD,
    act,
    purchase_worker,
    start,
    status,
    strict_worker,
    until,
    waiting_for,
)
from tests.workflows.fakes import FakePartners
from workflows.purchase import PurchaseWorkflow
from workflows.waits import LATE_EXPIRY

WINDOW = timedelta(seconds=3)
"""Short and real: the time-skipping server skips no time while an activity runs, so the window passes in
real time while the charge is held at the processor."""


async def _deposit_deadline(handle: WorkflowHandle[PurchaseWorkflow, PurchaseResult]) -> datetime:
    waiting = await until(handle, waiting_for("deposit"))
    deadline = next(w.deadline for w in waiting.waiting_for if "deposit" in w.what)
    assert deadline is not None
    return deadline


async def _charging_past_the_window(env: WorkflowEnvironment, deadline: datetime, partners: FakePartners) -> None:
    """Wait until the charge is at the processor and the deposit window has passed on the server's clock."""

    async def past() -> None:
        assert any(name == Activity.CHARGE for name, _ in partners.calls)
        assert await env.get_current_time() > deadline

    await eventually(past, timeout=60)


async def test_a_decline_that_comes_after_the_deposit_window_still_lets_the_customer_pay_again(
    ts_client: Client, time_skipping_env: WorkflowEnvironment
) -> None:
    partners = FakePartners(ts_client)
    partners.gates[Activity.CHARGE] = gate = asyncio.Event()
    policy = PurchasePolicy(deposit_window=WINDOW, retry_after_decline=timedelta(minutes=10))
    input = purchase_input(FinancingPlan.FULL, policy=policy)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        deadline = await _deposit_deadline(handle)
        paying = asyncio.create_task(act(handle, Update.PAY_DEPOSIT, PayInput(payment_method="pm_card_chargeDeclined")))
        await _charging_past_the_window(time_skipping_env, deadline, partners)  # the processor outlasts the window
        gate.set()
        declined = await paying
        assert declined.accepted is False and "declined" in declined.message
        waiting = await until(handle, waiting_for("deposit"))
        again = next(w for w in waiting.waiting_for if "deposit" in w.what)
        assert again.deadline is not None and again.deadline - again.since >= timedelta(minutes=9)
        paid = await act(handle, Update.PAY_DEPOSIT, PayInput(payment_method=GOOD_CARD))
        assert paid.accepted is True
        locked = await until(handle, waiting_for("lock"))
    assert locked.state is PurchaseState.ACTIVE and locked.stage is PurchaseStage.LOCK
    assert locked.amounts.paid == input.quote.deposit_fen


async def test_a_deposit_charge_that_outlasts_its_window_completes_and_the_purchase_goes_on(
    ts_client: Client, time_skipping_env: WorkflowEnvironment
) -> None:
    partners = FakePartners(ts_client)
    partners.gates[Activity.CHARGE] = gate = asyncio.Event()
    input = purchase_input(FinancingPlan.FULL, policy=PurchasePolicy(deposit_window=WINDOW))
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        deadline = await _deposit_deadline(handle)
        paying = asyncio.create_task(act(handle, Update.PAY_DEPOSIT, PayInput(payment_method=GOOD_CARD)))
        await _charging_past_the_window(time_skipping_env, deadline, partners)
        gate.set()
        paid = await paying
        assert paid.accepted is True
        current = await until(handle, waiting_for("lock"))
        assert current.state is PurchaseState.ACTIVE
        assert current.amounts.paid == input.quote.deposit_fen
        assert (await status(handle)).stage is PurchaseStage.LOCK


async def test_a_deposit_window_that_ends_while_no_worker_runs_reopens_for_the_grace(
    ts_client: Client, time_skipping_env: WorkflowEnvironment
) -> None:
    """Every worker is down at the deadline (as when Temporal or the worker fleet is): the expiry runs late, so
    the window reopens for `grace_after_outage` and the customer who comes back pays (OUTAGE_GRACE)."""
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL, policy=PurchasePolicy(deposit_window=WINDOW))
    queue = f"test-{uuid.uuid4()}"
    async with strict_worker(ts_client, queue, [PurchaseWorkflow], partners.activities(), cached=False):
        handle = await start(ts_client, queue, input)
        deadline = await _deposit_deadline(handle)
    try:

        async def late() -> None:
            assert await time_skipping_env.get_current_time() > deadline + LATE_EXPIRY

        await eventually(late, timeout=60)  # the deadline passes on the server's clock while no worker runs
        async with strict_worker(ts_client, queue, [PurchaseWorkflow], partners.activities()):
            reopened = await until(handle, waiting_for("deposit"))
            wait = next(w for w in reopened.waiting_for if "deposit" in w.what)
            assert wait.deadline is not None and wait.deadline - deadline >= timedelta(minutes=9)
            assert any("window ended while actions could not reach the purchase" in e.event for e in reopened.timeline)
            paid = await act(handle, Update.PAY_DEPOSIT, PayInput(payment_method=GOOD_CARD))
            assert paid.accepted is True
            locked = await until(handle, waiting_for("lock"))
            assert locked.stage is PurchaseStage.LOCK and locked.amounts.paid == input.quote.deposit_fen
    finally:
        with contextlib.suppress(RPCError):
            await handle.terminate("the test ended")
