"""JSON logs carry the workflow and activity context as fields and never a customer's personal data."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment
from temporalio.worker import Worker

from activities.battery import BatteryActivities
from activities.registration import RegistrationActivities
from carbuy.runtime.settings import Settings
from observability.logs import configure_logging
from tests.activities.test_partner_http import contract_input, registration_input
from tests.fixtures.sandbox import SandboxControl
from tests.observability.probe import MetricsProbe

PII = ("Han Meimei", "11010519491231002X")


class JsonLines:
    """What the process logged, one parsed JSON object per line."""

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def all(self) -> list[dict[str, Any]]:
        """Every line so far, parsed."""
        return [json.loads(line) for line in self.buffer.getvalue().splitlines()]

    def raw(self) -> str:
        """Every line so far, as written."""
        return self.buffer.getvalue()


@pytest.fixture
def json_logs() -> Iterator[JsonLines]:
    """configure_logging as a process does it, writing to a buffer; the test runner's logging is restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    configure_logging("test")
    buffer = io.StringIO()
    stream_handler = root.handlers[0]
    assert isinstance(stream_handler, logging.StreamHandler)
    stream_handler.setStream(buffer)
    try:
        yield JsonLines(buffer)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        activity.logger.activity_info_on_message = True
        workflow.logger.workflow_info_on_message = True


@activity.defn(name="probe_activity")
async def probe_activity(order_ref: str) -> None:
    activity.logger.info("probing order %s", order_ref)


async def test_an_activity_log_line_carries_workflow_run_activity_and_attempt_as_fields(json_logs: JsonLines) -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, workflow_id="purchase-ORD-1", workflow_run_id="run-9", activity_type="probe_activity", attempt=3
    )
    await env.run(probe_activity, "ORD-1")

    [line] = [entry for entry in json_logs.all() if entry["message"].startswith("probing")]
    assert line["message"] == "probing order ORD-1"
    assert line["process"] == "test" and line["level"] == "info"
    assert (line["workflow_id"], line["run_id"]) == ("purchase-ORD-1", "run-9")
    assert (line["activity"], line["attempt"]) == ("probe_activity", 3)


async def test_a_workflow_log_line_carries_workflow_id_run_id_and_stage(
    json_logs: JsonLines, time_skipping_env: WorkflowEnvironment
) -> None:
    client = time_skipping_env.client
    task_queue = f"logs-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=task_queue, workflows=[MetricsProbe]):
        handle = await client.start_workflow(
            MetricsProbe.run, "ORD-2", id=f"probe-logs-{task_queue}", task_queue=task_queue
        )
        await handle.result()

    [line] = [entry for entry in json_logs.all() if entry["message"].startswith("probe for")]
    assert line["message"] == "probe for ORD-2 in stage deposit"
    assert (line["workflow_id"], line["run_id"]) == (handle.id, handle.result_run_id)
    assert line["workflow_type"] == "MetricsProbe" and line["stage"] == "deposit"


async def test_partner_activities_log_no_name_or_id_card_number(
    json_logs: JsonLines, sandbox_settings: Settings, sandbox: SandboxControl
) -> None:
    battery = BatteryActivities.from_settings(sandbox_settings)
    registration = RegistrationActivities.from_settings(sandbox_settings)
    try:
        await ActivityEnvironment().run(battery.create_battery_contract, contract_input(sandbox.new_order_ref()))
        await ActivityEnvironment().run(registration.submit_registration, registration_input(sandbox.new_order_ref()))
    finally:
        await battery.aclose()
        await registration.aclose()

    messages = [entry["message"] for entry in json_logs.all()]
    assert any(m.startswith("battery:") for m in messages) and any(m.startswith("registry:") for m in messages)
    assert not any(pii in json_logs.raw() for pii in PII)
