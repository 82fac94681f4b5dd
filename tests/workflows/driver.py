"""Plays the customer against a running purchase: pays, locks, accepts, and watches the status query."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.heartbeat import HeartbeatInterceptor
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import (
    ActionResult,
    HandoverInput,
    LockInput,
    PayInput,
    PurchaseInput,
    PurchaseResult,
    PurchaseStage,
    PurchaseStatus,
    Query,
    Update,
    purchase_workflow_id,
)
from tests.eventually import eventually
from tests.workflows.fakes import FakePartners
from workflows.purchase import PurchaseWorkflow

GOOD_CARD = "pm_card_visa"


_started: dict[str, list[WorkflowHandle[PurchaseWorkflow, PurchaseResult]]] = {}


def strict_worker(
    client: Client, queue: str, workflows: list[type], activities: list[Callable[..., Any]], *, cached: bool = True
) -> Worker:
    """The tests' worker: the SDK's default, strict sandbox, which intercepts a non-deterministic call made in
    workflows/ (the production worker passes that package through: worker.LEAN_SANDBOX). `cached=False`: no
    sticky queue, so the purchase's next task goes to whichever worker polls the queue after this one is gone."""
    return Worker(
        client,
        task_queue=queue,
        workflows=workflows,
        activities=activities,
        interceptors=[HeartbeatInterceptor()],
        max_cached_workflows=1000 if cached else 0,  # 1000: the SDK's default
    )


@asynccontextmanager
async def purchase_worker(client: Client, partners: FakePartners) -> AsyncIterator[str]:
    """A worker on a fresh task queue running PurchaseWorkflow with the fake partners; yields the queue.

    Purchases still open when the test ends are terminated: on the shared time-skipping server, an open
    workflow whose worker is gone would hold back the clock of every later test.
    """
    queue = f"test-{uuid.uuid4()}"
    _started[queue] = []
    try:
        async with strict_worker(client, queue, [PurchaseWorkflow], partners.activities()):
            yield queue
    finally:
        for handle in _started.pop(queue):
            with contextlib.suppress(RPCError):  # it had ended already
                await handle.terminate("the test ended")


async def start(client: Client, queue: str, input: PurchaseInput) -> WorkflowHandle[PurchaseWorkflow, PurchaseResult]:
    """Start the purchase of an order."""
    handle = await client.start_workflow(
        PurchaseWorkflow.run, input, id=purchase_workflow_id(input.order.order_id), task_queue=queue
    )
    _started.setdefault(queue, []).append(handle)
    return handle


async def status(handle: WorkflowHandle[PurchaseWorkflow, PurchaseResult]) -> PurchaseStatus:
    """The status query."""
    current: PurchaseStatus = await handle.query(Query.STATUS, result_type=PurchaseStatus)
    return current


async def until(
    handle: WorkflowHandle[PurchaseWorkflow, PurchaseResult],
    ready: Callable[[PurchaseStatus], bool],
    timeout_s: float = 20.0,
) -> PurchaseStatus:
    """Poll the status until ready (the time-skipping clock does not move while the test polls)."""

    async def check() -> PurchaseStatus:
        current = await status(handle)
        assert ready(current), f"not ready: stage {current.stage}, waiting for {[w.what for w in current.waiting_for]}"
        return current

    return await eventually(check, timeout=timeout_s)


async def skip_time(
    env: WorkflowEnvironment, handle: WorkflowHandle[PurchaseWorkflow, PurchaseResult], by: timedelta
) -> None:
    """Move the time-skipping server's clock on, once the purchase has no activity pending.

    The server skips no time while an activity is pending: its sleep would wait in real time and fail after
    30 s (on a busy machine once with a lost connection that left the server's clock held back). Waiting here
    first turns that into a failure that names the activity.
    """

    async def idle() -> None:
        pending = (await handle.describe()).raw_description.pending_activities
        assert not pending, f"activities still pending: {[(a.activity_type.name, a.attempt) for a in pending]}"

    await eventually(idle)
    await env.sleep(by)


def waiting_for(text: str) -> Callable[[PurchaseStatus], bool]:
    """A status predicate: the purchase waits for something described with this text."""
    return lambda s: any(text in w.what for w in s.waiting_for)


async def act(handle: WorkflowHandle[PurchaseWorkflow, PurchaseResult], update: Update, arg: object) -> ActionResult:
    """Run a customer action (an update) and return its answer."""
    answer: ActionResult = await handle.execute_update(update.value, arg, result_type=ActionResult)
    return answer


def lock_input(input: PurchaseInput, plan: FinancingPlan | None = None) -> LockInput:
    """Lock with what the order asked for."""
    order = input.order
    return LockInput(
        trim=order.trim,
        colour=order.colour,
        delivery_centre="NGC-Guangzhou-Tianhe",
        financing_plan=plan or order.financing_plan,
        loan=order.loan,
        commercial_insurance=order.commercial_insurance,
    )


async def pay_deposit(handle: WorkflowHandle[PurchaseWorkflow, PurchaseResult]) -> None:
    """Wait for the deposit stage and pay it with a good card."""
    await until(handle, waiting_for("deposit"))
    paid = await act(handle, Update.PAY_DEPOSIT, PayInput(payment_method=GOOD_CARD))
    assert paid.accepted, paid.message


async def pay_and_lock(handle: WorkflowHandle[PurchaseWorkflow, PurchaseResult], input: PurchaseInput) -> None:
    """Pay the deposit and lock what the order asked for."""
    await pay_deposit(handle)
    await act(handle, Update.LOCK, lock_input(input))


async def buy_until_handover(handle: WorkflowHandle[PurchaseWorkflow, PurchaseResult], input: PurchaseInput) -> None:
    """Pay the deposit, lock, pay the balance and accept the car."""
    await pay_and_lock(handle, input)
    await pay_balance_and_accept(handle)


async def pay_balance_and_accept(handle: WorkflowHandle[PurchaseWorkflow, PurchaseResult]) -> None:
    """Once the balance is due: pay it with a good card and accept the car."""
    await until(handle, waiting_for("pay the balance"))
    balance = await act(handle, Update.PAY_BALANCE, PayInput(payment_method=GOOD_CARD))
    assert balance.accepted, balance.message
    await until(handle, lambda s: s.stage == PurchaseStage.HANDOVER and bool(s.waiting_for))
    accepted = await act(handle, Update.HANDOVER, HandoverInput(accepted=True))
    assert accepted.accepted
