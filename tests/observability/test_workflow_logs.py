"""A purchase's own log lines name the workflow, the run and the stage it moved to (and no customer data)."""

from __future__ import annotations

import json
import logging

import pytest
from temporalio.client import Client

from carbuy.contract.order import FinancingPlan
from observability.logs import JsonFormatter
from tests.factories import purchase_input
from tests.workflows.driver import pay_deposit, purchase_worker, start, until, waiting_for
from tests.workflows.fakes import FakePartners


async def test_a_stage_change_is_logged_as_json_with_workflow_run_and_stage(
    ts_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL)
    with caplog.at_level(logging.INFO, logger="temporalio.workflow"):
        async with purchase_worker(ts_client, partners) as queue:
            handle = await start(ts_client, queue, input)
            await pay_deposit(handle)
            await until(handle, waiting_for("lock the order"))
    lines = [json.loads(JsonFormatter("worker").format(r)) for r in caplog.records if "stage" in r.__dict__]
    moved = [line for line in lines if str(line["message"]).startswith("stage deposit -> lock")]

    assert len(moved) == 1
    assert moved[0]["stage"] == "lock" and moved[0]["workflow_id"] == handle.id and moved[0]["run_id"]
    customer = input.order.customer
    assert not any(
        pii in json.dumps(lines, ensure_ascii=False) for pii in (customer.name, customer.phone, customer.id_card_number)
    )
