"""`carbuy replay` on a real dev server: the histories of running purchases replay on today's code, and a history
today's code would not write is reported (exit 1), named with its workflow id."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import WORKFLOW_NAME, PurchaseInput, Update
from carbuy.devtools.processes import bin_path
from carbuy.devtools.replay import replay_histories
from tests.eventually import eventually
from tests.factories import purchase_input
from tests.workflows.driver import act, lock_input, pay_deposit, purchase_worker, start, until, waiting_for
from tests.workflows.fakes import FakePartners


@workflow.defn(name=WORKFLOW_NAME, sandboxed=False)
class NotAPurchase:
    """Runs under the purchase's workflow type but starts a timer first: today's PurchaseWorkflow never would."""

    @workflow.run
    async def run(self, _: PurchaseInput) -> None:
        await workflow.sleep(timedelta(hours=1))


async def _purchases(client: Client, queue_of: list[str]) -> list[str]:
    """Two purchases up to their balance, on a worker of their own (terminated when it stops)."""
    ids = []
    async with purchase_worker(client, FakePartners(client)) as queue:
        queue_of.append(queue)
        for _ in range(2):
            input = purchase_input(FinancingPlan.FULL)
            handle = await start(client, queue, input)
            await pay_deposit(handle)
            await act(handle, Update.LOCK, lock_input(input))
            await until(handle, waiting_for("pay the balance"))
            ids.append(handle.id)
    return ids


def _cli(env: WorkflowEnvironment, *args: str) -> subprocess.CompletedProcess[str]:
    variables = {
        **os.environ,
        "CARBUY_ENVIRONMENT": "test",
        "CARBUY_TEMPORAL__ADDRESS": env.client.service_client.config.target_host,
        "TEMPORAL_CONFIG_FILE": "/nonexistent/carbuy-test.toml",
    }
    return subprocess.run(
        [bin_path("carbuy"), "replay", *args], capture_output=True, text=True, timeout=120, env=variables
    )


async def test_running_purchases_replay_and_a_foreign_history_is_reported(local_env: WorkflowEnvironment) -> None:
    client = local_env.client
    queues: list[str] = []
    ids = await _purchases(client, queues)
    query = f"TaskQueue = '{queues[0]}'"

    clean = await replay_histories(client, query)
    assert (clean.total, clean.replayed, clean.failures) == (2, 2, [])
    assert len(ids) == 2

    odd_queue, odd_id = f"odd-{uuid.uuid4()}", f"odd-{uuid.uuid4()}"
    async with Worker(client, task_queue=odd_queue, workflows=[NotAPurchase]):
        await client.start_workflow(WORKFLOW_NAME, purchase_input(FinancingPlan.FULL), id=odd_id, task_queue=odd_queue)

        async def timer_started() -> None:
            events = (await client.get_workflow_handle(odd_id).fetch_history()).events
            assert any(e.HasField("timer_started_event_attributes") for e in events)

        await eventually(timer_started)
    both = f"{query} OR TaskQueue = '{odd_queue}'"
    mixed = await replay_histories(client, both)
    assert (mixed.total, mixed.replayed) == (3, 2)
    assert [f.workflow_id for f in mixed.failures] == [odd_id]
    assert "Nondeterminism" in mixed.failures[0].error, mixed.failures[0].error

    ok = await asyncio.to_thread(_cli, local_env, "--query", query)
    assert ok.returncode == 0, ok.stderr
    assert "replayed 2 of 2" in ok.stdout
    bad = await asyncio.to_thread(_cli, local_env, "--query", both)
    assert bad.returncode == 1, bad.stderr
    assert "replayed 2 of 3" in bad.stdout and odd_id in bad.stdout
    limited = await asyncio.to_thread(_cli, local_env, "--query", query, "--limit", "1")
    assert "replayed 1 of 1" in limited.stdout
    unreachable = await asyncio.to_thread(_cli_to, "127.0.0.1:1")
    assert unreachable.returncode == 2 and "replay not run" in unreachable.stderr


def _cli_to(address: str) -> subprocess.CompletedProcess[str]:
    variables = {**os.environ, "CARBUY_ENVIRONMENT": "test", "CARBUY_TEMPORAL__ADDRESS": address}
    return subprocess.run([bin_path("carbuy"), "replay"], capture_output=True, text=True, timeout=120, env=variables)
