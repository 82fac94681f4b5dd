"""The project-free reproduction of the histories kept in tests/histories/query_applied_live/ (issue 16).

No carbuy code: an activity, an activity the test completes by hand, a third activity right after, and an update
that does nothing. On the dev server, a query dispatched while the workflow has no task pending is delivered to
the worker only once a slot frees; by then the second activity's result is in history, and the query's
activation applies it live: the workflow schedules the third activity from inside the query. The next task
carries the update, so its completion lists [schedule activity, accept update, complete update]; on replay the
result and the update come in one activation, updates first: [accept, complete, schedule], and the replay fails
("Update machine does not handle this event: ActivityTaskScheduled"). The time-skipping server cannot show it:
it fixes a query's history when it dispatches the query.

The worker has one workflow-task slot, which a signal handler holds (time.sleep, unsandboxed, debug mode: no
deadlock detection) while the query is sent, the activity completed and the update sent. Which of the query or
the workflow task the server hands over first when the slot frees is the server's choice: an attempt the
workflow task wins is set aside and another is made, until one shows the query's activation applying the result.

A purchase in that state runs on while its worker keeps it cached; a cold worker cannot replay it, so its next
task fails for ever. What it needs is a reset to the workflow task before the event the query applied (the
runbook's `temporal workflow reset --event-id`), tried here with the Temporal CLI.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from temporalio import activity, workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker
from temporalio.workflow import NondeterminismError

from carbuy.devtools.processes import bin_path
from tests.eventually import eventually

HOLD_S = 2.0
"""How long the signal handler holds the worker's only workflow-task slot."""

ATTEMPTS = 12
"""Attempts at the reproduction before the test gives up (each one the query wins is enough)."""


@dataclass
class Hand:
    """What the test holds of the worker: the second activity's task tokens and the slot holder's flag."""

    tokens: list[bytes] = field(default_factory=list)
    holding: threading.Event = field(default_factory=threading.Event)


HAND = Hand()


@activity.defn
async def first() -> str:
    return "ok"


@activity.defn
async def second() -> str:
    HAND.tokens.append(activity.info().task_token)
    activity.raise_complete_async()


@workflow.defn
class QueryMeetsUnseenResult:
    def __init__(self) -> None:
        self.result: str | None = None
        self.updates = 0
        self.finished = False

    @workflow.run
    async def run(self) -> str:
        await workflow.execute_activity(first, start_to_close_timeout=timedelta(seconds=30))
        self.result = await workflow.execute_activity(second, start_to_close_timeout=timedelta(minutes=5))
        await workflow.execute_activity(first, start_to_close_timeout=timedelta(seconds=30))
        await workflow.wait_condition(lambda: self.updates > 0 and self.finished)
        return self.result

    @workflow.update
    def poke(self) -> None:
        self.updates += 1

    @workflow.signal
    def finish(self) -> None:
        self.finished = True

    @workflow.query
    def seen(self) -> tuple[str | None, int]:
        return self.result, self.updates


@workflow.defn
class SlotHolder:
    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.signal
    def hold(self, seconds: float) -> None:
        HAND.holding.set()
        time.sleep(seconds)  # blocks the worker's only workflow-task slot (unsandboxed, debug mode)


Handle = WorkflowHandle[QueryMeetsUnseenResult, str]


@asynccontextmanager
async def one_slot_worker(client: Client, queue: str) -> AsyncIterator[None]:
    async with Worker(
        client,
        task_queue=queue,
        workflows=[QueryMeetsUnseenResult, SlotHolder],
        activities=[first, second],
        workflow_runner=UnsandboxedWorkflowRunner(),
        debug_mode=True,
        max_concurrent_workflow_tasks=1,
    ):
        yield


async def _second_started(count: int) -> None:
    async def started() -> None:
        assert len(HAND.tokens) >= count, "the second activity has not started"

    await eventually(started, timeout=60)


async def _attempt(client: Client, queue: str, holder: WorkflowHandle[SlotHolder, None]) -> Handle | None:
    """One try: the workflow left open when its query applied the second activity's result live, else None."""
    HAND.tokens.clear()
    HAND.holding.clear()
    handle = await client.start_workflow(QueryMeetsUnseenResult.run, id=f"query-live-{uuid.uuid4()}", task_queue=queue)
    await _second_started(1)
    await _settled(handle)
    await holder.signal(SlotHolder.hold, HOLD_S)
    await asyncio.to_thread(HAND.holding.wait)
    query = asyncio.create_task(handle.query(QueryMeetsUnseenResult.seen))
    await asyncio.sleep(HOLD_S / 8)  # the query reaches the server while the workflow has no task pending
    await client.get_async_activity_handle(task_token=HAND.tokens[0]).complete("declined")
    update = asyncio.create_task(handle.execute_update(QueryMeetsUnseenResult.poke))
    try:
        result, updates = await query
    except RPCError:  # the server found no poller while the slot was held: another try
        result, updates = None, -1
    await update
    if (result, updates) == ("declined", 0):
        return handle  # the query's activation applied the result; the update came in the next task
    await handle.terminate("the workflow task won the race: not a reproduction")
    return None


async def _settled(handle: Handle) -> None:
    """The task that scheduled the second activity is completed: no workflow task is pending."""

    async def settled() -> None:
        description = await handle.describe()
        assert not description.raw_description.HasField("pending_workflow_task"), "a workflow task is pending"

    await eventually(settled, timeout=30)


async def _reproduce(client: Client, queue: str) -> Handle:
    holder = await client.start_workflow(SlotHolder.run, id=f"slot-holder-{uuid.uuid4()}", task_queue=queue)
    try:
        for _ in range(ATTEMPTS):
            if (handle := await _attempt(client, queue, holder)) is not None:
                return handle
    finally:
        await holder.terminate("done")
    pytest.fail(f"the workflow task won the race {ATTEMPTS} times: no reproduction")


async def _replay(client: Client, handle: Handle) -> None:
    history = await handle.fetch_history()
    replayer = Replayer(
        workflows=[QueryMeetsUnseenResult],
        workflow_runner=UnsandboxedWorkflowRunner(),
        data_converter=client.data_converter,
    )
    await replayer.replay_workflow(history, raise_on_replay_failure=True)


pytestmark = pytest.mark.slow  # each attempt holds a slot for 2 s and the server picks the winner: 30-160 s a test


@pytest.mark.xfail(
    strict=True,
    raises=NondeterminismError,
    reason="a query's activation applied an activity result that no workflow task had delivered; the next task "
    "carried an update, which on replay runs before that result: the commands come out in another order",
)
async def test_a_history_whose_query_applied_an_activity_result_live_replays(local_env: WorkflowEnvironment) -> None:
    queue = f"query-live-{uuid.uuid4()}"
    async with one_slot_worker(local_env.client, queue):
        handle = await _reproduce(local_env.client, queue)
        await handle.signal(QueryMeetsUnseenResult.finish)
        assert await handle.result() == "declined"
    await _replay(local_env.client, handle)


async def test_such_a_workflow_is_stuck_on_a_cold_worker_and_runs_on_after_a_reset_with_the_cli(
    local_env: WorkflowEnvironment,
) -> None:
    client = local_env.client
    queue = f"query-live-{uuid.uuid4()}"
    async with one_slot_worker(client, queue):
        handle = await _reproduce(client, queue)
    history = await handle.fetch_history()
    events = list(history.events)
    second_scheduled = next(
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "second"
    )
    applied_live = next(
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
        and e.activity_task_completed_event_attributes.scheduled_event_id == second_scheduled
    )
    reset_to = max(
        e.event_id
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and e.event_id < applied_live
    )
    async with one_slot_worker(client, queue):
        await handle.signal(QueryMeetsUnseenResult.finish)  # a cold worker replays the history, and cannot

        async def stuck() -> None:
            failed = [
                e async for e in handle.fetch_history_events() if e.HasField("workflow_task_failed_event_attributes")
            ]
            assert failed, "no workflow task has failed yet"
            assert "Nondeterminism" in failed[-1].workflow_task_failed_event_attributes.failure.message

        await eventually(stuck, timeout=60)
        HAND.tokens.clear()
        reset = await asyncio.create_subprocess_exec(
            bin_path("temporal"),
            "workflow",
            "reset",
            "--address",
            client.service_client.config.target_host,
            "--namespace",
            client.namespace,
            "--workflow-id",
            handle.id,
            "--event-id",
            str(reset_to),
            "--reason",
            "a query applied an activity result live: replay from the task before it",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(reset.communicate(), timeout=60)
        assert reset.returncode == 0, (out + err).decode()
        await _second_started(1)  # the new run calls the second activity again (carbuy's are idempotent by key)
        await client.get_async_activity_handle(task_token=HAND.tokens[0]).complete("paid")
        new_run = client.get_workflow_handle_for(QueryMeetsUnseenResult.run, handle.id)
        assert await new_run.result() == "paid"  # the update and the signal were reapplied to the new run
    await _replay(client, new_run)
