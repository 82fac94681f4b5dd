"""A worker SIGKILLed while it charges a deposit near the end of the deposit window: the purchase goes on.

A stack of its own with 10 s windows. The customer pays 5 s before the deposit deadline; the worker is killed
as soon as Temporal says it runs the charge, and stays down until the window has passed. The charge the
customer started in time is retried (within seconds: heartbeats), the deposit is paid once, and the purchase
moves to the lock instead of expiring.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import stripe
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client

from carbuy.contract.activities import Activity
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage, PurchaseState, PurchaseStatus, purchase_workflow_id
from carbuy.devtools.demo import demo_order
from carbuy.devtools.devstack import DevStack
from carbuy.runtime.temporal import connect
from tests.e2e.conftest import make_stack, payment_intents_of
from tests.eventually import eventually

pytestmark = pytest.mark.e2e

WINDOW_S = 10.0
ATTEMPTS = 5
"""Purchases tried until the kill lands while the charge runs (a fast charge can finish before it)."""


@pytest.fixture(scope="module")
async def short_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevStack]:
    dev = make_stack(tmp_path_factory.mktemp("in-time-stack"), time_scale=4 / (90 * 86_400), deadline_floor_s=WINDOW_S)
    await dev.start()
    try:
        yield dev
    finally:
        dev.stop()


async def _status(api: httpx.AsyncClient, order_id: str) -> PurchaseStatus:
    response = await api.get(f"/purchases/{order_id}")
    assert response.status_code == 200, response.text
    return PurchaseStatus.model_validate(response.json())


async def _charge_running(temporal: Client, order_id: str) -> bool:
    description = await temporal.get_workflow_handle(purchase_workflow_id(order_id)).describe()
    return any(
        a.activity_type.name == Activity.CHARGE.value and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        for a in description.raw_description.pending_activities
    )


async def _pay_and_kill(
    dev: DevStack, api: httpx.AsyncClient, temporal: Client, card: str
) -> tuple[str, asyncio.Task[httpx.Response], datetime] | None:
    """Place an order, pay 5 s before the deadline and SIGKILL the worker while the charge runs (None: the
    charge was done before the kill could land; the worker is left running)."""
    body = demo_order(FinancingPlan.FULL)
    order_id = body["order_id"]
    assert (await api.post("/orders", json=body)).status_code in (200, 201)

    async def waiting() -> datetime:
        wait = next(w for w in (await _status(api, order_id)).waiting_for if "deposit" in w.what)
        assert wait.deadline is not None
        return wait.deadline

    deadline = await eventually(waiting)
    await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds() - 5))  # 5 s before the deadline
    paying = asyncio.create_task(api.post(f"/purchases/{order_id}/deposit", json={"payment_method": card}))
    while not paying.done():
        if await _charge_running(temporal, order_id):
            await asyncio.to_thread(dev.process("worker").kill)
            return order_id, paying, deadline
        await asyncio.sleep(0.01)
    return None


async def test_a_worker_killed_during_a_deposit_charge_near_the_deadline_lets_the_purchase_go_on(
    short_stack: DevStack,
) -> None:
    settings = short_stack.settings
    temporal = await connect(settings)
    stripe_client = stripe.StripeClient(
        settings.stripe.api_key, base_addresses={"api": settings.stripe.api_base or ""}, max_network_retries=0
    )
    card = stripe_client.v1.payment_methods.create(
        {"type": "card", "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}
    ).id
    headers = {"Authorization": f"Bearer {settings.api.backend_token}"}
    async with httpx.AsyncClient(base_url=short_stack.api_url, timeout=120.0, headers=headers) as api:
        killed = None
        for _ in range(ATTEMPTS):
            killed = await _pay_and_kill(short_stack, api, temporal, card)
            if killed is not None:
                break
        assert killed is not None, f"the charge finished before the kill in each of {ATTEMPTS} purchases"
        order_id, paying, deadline = killed
        # down until the window has passed, then back
        await asyncio.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds() + 0.5))
        short_stack.restart("worker")
        answer = await paying
        assert answer.status_code == 200, answer.text
        assert answer.json()["accepted"] is True, answer.text

        async def locked() -> PurchaseStatus:
            current = await _status(api, order_id)
            assert current.stage is not PurchaseStage.DEPOSIT, current.stage
            return current

        current = await eventually(locked, timeout=60)
    assert current.state is PurchaseState.ACTIVE and current.stage is PurchaseStage.LOCK, current.reason
    assert current.amounts.paid == current.amounts.deposit
    intents = payment_intents_of(stripe_client, order_id)
    assert [i.status for i in intents if i.status == "succeeded"] == ["succeeded"]
    customers = {i.customer for i in intents}
    assert len(customers) == 1
