"""The sandbox's callback delivery: signed, delayed as configured, retried on 5xx, given up on refusal."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from carbuy.contract.events import PartnerEventType as Event
from carbuy.devtools.processes import free_port
from tests.eventually import eventually
from tests.fixtures.sandbox import CALLBACK_DELAY_S, CallbackSink, SandboxControl


@pytest.fixture
async def http(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=5) as client:
        yield client


@pytest.fixture
def impostor_sink() -> Iterator[CallbackSink]:
    """A receiver that expects another secret, so it refuses the sandbox's signatures."""
    sink = CallbackSink("not-the-shared-secret").start()
    yield sink
    sink.stop()


async def submit_registration(http: httpx.AsyncClient, order_ref: str, callback_url: str) -> dict[str, Any]:
    body = {
        "order_ref": order_ref,
        "vin": "LMGAE1U50TG000001",
        "owner_name": "Han Meimei",
        "owner_id_number": "11010519491231002X",
        "city": "Shenzhen",
        "policy_id": "pol_1",
        "purchase_tax_fen": 397_788,
        "invoice_number": "INV-1",
        "callback_url": callback_url,
    }
    response = await http.post("/registry/applications", json=body, headers={"Idempotency-Key": f"{order_ref}-reg"})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def wait_for_delivery(sandbox: SandboxControl, order_ref: str, timeout_s: float = 3.0) -> dict[str, Any]:

    async def settled() -> dict[str, Any]:
        callbacks = (await sandbox.inspect(order_ref))["callbacks"]
        assert callbacks and callbacks[0]["status"] != "pending", f"no settled callback for {order_ref}: {callbacks}"
        record: dict[str, Any] = callbacks[0]
        return record

    return await eventually(settled, timeout=timeout_s, interval=0.02)


async def test_a_callback_is_signed_with_the_shared_secret_and_carries_the_order(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()

    filed = await submit_registration(http, order_ref, callback_sink.url)

    [issued] = await callback_sink.wait_for(order_ref, count=1)
    assert (issued.order_ref, issued.reference, issued.type) == (order_ref, filed["application_id"], Event.PLATE_ISSUED)
    assert str(issued.data["plate"]).startswith("粤BD")
    record = await wait_for_delivery(sandbox, order_ref)
    assert (record["event_id"], record["status"], record["attempts"]) == (issued.event_id, "delivered", 1)


async def test_a_receiver_answering_5xx_gets_the_callback_again(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    callback_sink.fail_next(order_ref, 2)

    await submit_registration(http, order_ref, callback_sink.url)

    [issued] = await callback_sink.wait_for(order_ref, count=1)
    record = await wait_for_delivery(sandbox, order_ref)
    assert (record["event_id"], record["status"], record["attempts"]) == (issued.event_id, "delivered", 3)


async def test_a_receiver_refusing_the_signature_is_not_retried_and_the_callback_is_marked_failed(
    http: httpx.AsyncClient, sandbox: SandboxControl, impostor_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()

    await submit_registration(http, order_ref, impostor_sink.url)

    record = await wait_for_delivery(sandbox, order_ref)
    assert (record["status"], record["attempts"]) == ("failed", 1)
    assert "401" in record["last_error"]
    assert impostor_sink.received(order_ref) == [] and impostor_sink.rejected


async def test_an_unreachable_receiver_is_tried_as_configured_then_marked_failed(
    http: httpx.AsyncClient, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.configure(callback_attempts=3, callback_backoff_s=0.01)
    try:
        await submit_registration(http, order_ref, f"http://127.0.0.1:{free_port()}/webhooks/partners")
        record = await wait_for_delivery(sandbox, order_ref)
    finally:
        await sandbox.configure(callback_attempts=5, callback_backoff_s=0.2)

    assert (record["status"], record["attempts"]) == ("failed", 3)
    assert "ConnectError" in record["last_error"]


async def test_a_longer_callback_delay_set_at_run_time_holds_the_answer_back(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.configure(callback_delay_s=0.4)
    try:
        started = time.monotonic()
        await submit_registration(http, order_ref, callback_sink.url)
        await callback_sink.wait_for(order_ref, count=1)
        waited = time.monotonic() - started
    finally:
        await sandbox.configure(callback_delay_s=CALLBACK_DELAY_S)

    assert waited >= 0.35
