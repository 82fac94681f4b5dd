"""The production worker passes carbuy's workflow modules through the sandbox; the tests' worker keeps the strict
default, so a non-deterministic call in a workflow module fails in the tests first."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tests.eventually import eventually
from tests.workflows.clock_probe import ClockProbe
from tests.workflows.driver import strict_worker
from worker import LEAN_SANDBOX


def test_the_worker_passes_through_only_the_workflows_package_beyond_the_defaults() -> None:
    added = LEAN_SANDBOX.restrictions.passthrough_modules - SandboxRestrictions.default.passthrough_modules
    assert added == {"workflows"}
    assert not LEAN_SANDBOX.restrictions.passthrough_all_modules
    # the rest of the defaults (restricted calls such as datetime.now) still apply to everything else
    assert LEAN_SANDBOX.restrictions.invalid_module_members == SandboxRestrictions.default.invalid_module_members


async def _failed_task_message(client: Client, workflow_id: str) -> str:
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            return str(event.workflow_task_failed_event_attributes.failure.message)
    raise AssertionError(f"{workflow_id}: no workflow task failed yet")


async def test_a_clock_read_in_a_workflow_module_fails_on_the_tests_worker(local_env: WorkflowEnvironment) -> None:
    client, queue, workflow_id = local_env.client, f"probe-{uuid.uuid4()}", f"clock-probe-{uuid.uuid4()}"
    async with strict_worker(client, queue, [ClockProbe], []):
        handle = await client.start_workflow(
            ClockProbe.run, id=workflow_id, task_queue=queue, execution_timeout=timedelta(minutes=2)
        )
        message = await eventually(lambda: _failed_task_message(client, workflow_id), timeout=60)
        await handle.terminate("probe done")
    assert "datetime.now" in message or "Cannot access" in message, message


async def test_the_same_read_passes_once_its_module_is_passed_through(local_env: WorkflowEnvironment) -> None:
    # the production worker's rule applied to the probe's module: the sandbox no longer sees the call, which is
    # why the tests keep the strict runner
    client, queue = local_env.client, f"probe-{uuid.uuid4()}"
    lean = SandboxedWorkflowRunner(
        restrictions=LEAN_SANDBOX.restrictions.with_passthrough_modules("tests.workflows.clock_probe")
    )
    async with Worker(client, task_queue=queue, workflows=[ClockProbe], workflow_runner=lean):
        read = await client.execute_workflow(
            ClockProbe.run, id=f"clock-probe-{uuid.uuid4()}", task_queue=queue, execution_timeout=timedelta(minutes=2)
        )
    assert read[:4].isdigit()
