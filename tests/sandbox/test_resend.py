"""Resend on replay: posting a request again under its key sends its latest callback again; a silent lender."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from carbuy.contract.events import PartnerEventType as Event
from tests.eventually import eventually
from tests.fixtures.sandbox import CALLBACK_DELAY_S, CallbackSink, SandboxControl


@pytest.fixture
async def http(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=5) as client:
        yield client


def registration_body(order_ref: str, callback_url: str) -> dict[str, Any]:
    return {
        "order_ref": order_ref,
        "vin": "LMGAE1U50TG000001",
        "owner_name": "Han Meimei",
        "owner_id_number": "11010519491231002X",
        "city": "Guangzhou",
        "policy_id": "pol_1",
        "purchase_tax_fen": 397_788,
        "invoice_number": "INV-1",
        "callback_url": callback_url,
    }


def loan_body(order_ref: str, callback_url: str) -> dict[str, Any]:
    return {
        "order_ref": order_ref,
        "applicant_name": "Han Meimei",
        "applicant_id_number": "11010519491231002X",
        "vehicle_price_fen": 8_990_000,
        "down_payment_fen": 2_697_000,
        "term_months": 36,
        "callback_url": callback_url,
    }


async def post(http: httpx.AsyncClient, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    response = await http.post(path, json=body, headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    return response


async def settled_callbacks(
    sandbox: SandboxControl, order_ref: str, count: int, timeout_s: float = 3.0
) -> list[dict[str, Any]]:
    """The order's callback records once `count` exist and none is still being delivered."""

    async def settled() -> list[dict[str, Any]]:
        callbacks: list[dict[str, Any]] = (await sandbox.inspect(order_ref))["callbacks"]
        assert len(callbacks) >= count and all(c["status"] != "pending" for c in callbacks), (
            f"callbacks of {order_ref} not settled: {callbacks}"
        )
        return callbacks

    return await eventually(settled, timeout=timeout_s, interval=0.02)


async def test_replaying_a_request_sends_its_delivered_callback_again_under_the_same_event_id(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    body, key = registration_body(order_ref, callback_sink.url), f"{order_ref}-reg"
    await post(http, "/registry/applications", body, key)
    [issued] = await callback_sink.wait_for(order_ref, count=1)
    await settled_callbacks(sandbox, order_ref, 1)

    replayed = await post(http, "/registry/applications", body, key)

    first, again = await callback_sink.wait_for(order_ref, count=2)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert (again.event_id, again.type, again.data) == (issued.event_id, Event.PLATE_ISSUED, issued.data)
    [record] = await settled_callbacks(sandbox, order_ref, 1)
    assert (record["status"], record["resends"], record["attempts"]) == ("delivered", 1, 2)


async def test_a_callback_that_failed_to_arrive_is_delivered_when_its_request_is_replayed(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    body, key = registration_body(order_ref, callback_sink.url), f"{order_ref}-reg"
    callback_sink.fail_next(order_ref, 2)
    await sandbox.configure(callback_attempts=2, callback_backoff_s=0.01)
    try:
        await post(http, "/registry/applications", body, key)
        [lost] = await settled_callbacks(sandbox, order_ref, 1)
    finally:
        await sandbox.configure(callback_attempts=5, callback_backoff_s=0.2)
    assert (lost["status"], callback_sink.received(order_ref)) == ("failed", [])

    await post(http, "/registry/applications", body, key)

    [arrived] = await callback_sink.wait_for(order_ref, count=1)
    [record] = await settled_callbacks(sandbox, order_ref, 1)
    assert (arrived.event_id, record["status"], record["resends"]) == (lost["event_id"], "delivered", 1)


async def test_only_the_latest_callback_of_a_replayed_request_is_sent_again(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    body = {
        "order_ref": order_ref,
        "vin": "LMGAE1U50TG000001",
        "warehouse": "GAC-Huadu-WH2",
        "delivery_centre": "GZ-Tianhe-01",
        "callback_url": callback_sink.url,
    }
    await post(http, "/carrier/shipments", body, f"{order_ref}-ship")
    events = await callback_sink.wait_for(order_ref, until=Event.PDI_PASSED)
    await settled_callbacks(sandbox, order_ref, len(events))

    await post(http, "/carrier/shipments", body, f"{order_ref}-ship")

    got = await callback_sink.wait_for(order_ref, count=len(events) + 1)
    assert got[-1].event_id == events[-1].event_id and got[-1].type == Event.PDI_PASSED
    records = await settled_callbacks(sandbox, order_ref, len(events))
    assert [r["resends"] for r in records] == [0] * (len(events) - 1) + [1]


async def test_a_replay_before_the_partner_has_answered_adds_no_callback(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    body, key = registration_body(order_ref, callback_sink.url), f"{order_ref}-reg"
    await sandbox.configure(callback_delay_s=0.3)
    try:
        await post(http, "/registry/applications", body, key)
        await post(http, "/registry/applications", body, key)
        await callback_sink.wait_for(order_ref, count=1)
        await sandbox.quiet(order_ref)
    finally:
        await sandbox.configure(callback_delay_s=CALLBACK_DELAY_S)

    [record] = await settled_callbacks(sandbox, order_ref, 1)
    assert (len(callback_sink.received(order_ref)), record["resends"]) == (1, 0)
    [request] = (await sandbox.inspect(order_ref))["requests"]
    assert (request["replays"], request["references"]) == (1, [record["reference"]])


async def test_a_silent_lender_answers_only_when_the_application_is_replayed(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "lender_silent")
    body, key = loan_body(order_ref, callback_sink.url), f"{order_ref}-loan"
    filed = (await post(http, "/lender/applications", body, key)).json()

    [dropped] = await settled_callbacks(sandbox, order_ref, 1)
    await sandbox.quiet(order_ref)
    assert (dropped["status"], dropped["type"], callback_sink.received(order_ref)) == (
        "dropped",
        Event.LOAN_APPROVED,
        [],
    )
    decided = (await http.get(f"/lender/applications/{filed['application_id']}")).json()
    assert decided["status"] == "approved"

    await post(http, "/lender/applications", body, key)

    [approved] = await callback_sink.wait_for(order_ref, count=1)
    assert (approved.type, approved.reference, approved.data["principal_fen"]) == (
        Event.LOAN_APPROVED,
        filed["application_id"],
        8_990_000 - 2_697_000,
    )
    [record] = await settled_callbacks(sandbox, order_ref, 1)
    assert (record["status"], record["resends"]) == ("delivered", 1)


async def test_a_silent_lender_is_only_silent_for_the_orders_that_chose_it(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()

    await post(http, "/lender/applications", loan_body(order_ref, callback_sink.url), f"{order_ref}-loan")

    [approved] = await callback_sink.wait_for(order_ref, count=1)
    assert approved.type == Event.LOAN_APPROVED


async def test_replaying_a_request_on_an_existing_object_resends_that_objects_lost_callbacks(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    # the lender asks for documents; its decision after the upload is lost, and comes when the upload is replayed
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "loan_documents_required", "lender_silent")
    body, key = loan_body(order_ref, callback_sink.url), f"{order_ref}-loan"
    filed = (await post(http, "/lender/applications", body, key)).json()
    await settled_callbacks(sandbox, order_ref, 1)
    await post(http, "/lender/applications", body, key)  # the request for documents, resent
    [asked] = await callback_sink.wait_for(order_ref, count=1)
    assert asked.type == Event.LOAN_DOCUMENTS_REQUIRED
    upload = {"order_ref": order_ref, "documents": ["proof_of_income"]}
    path = f"/lender/applications/{filed['application_id']}/documents"
    sent = await http.post(path, json=upload, headers={"Idempotency-Key": f"{order_ref}-docs"})
    assert sent.status_code == 200, sent.text
    await settled_callbacks(sandbox, order_ref, 2)
    assert len(callback_sink.received(order_ref)) == 1  # the decision was dropped

    again = await http.post(path, json=upload, headers={"Idempotency-Key": f"{order_ref}-docs"})

    assert again.headers["Idempotent-Replayed"] == "true"
    _, decided = await callback_sink.wait_for(order_ref, count=2)
    assert (decided.type, decided.reference) == (Event.LOAN_APPROVED, filed["application_id"])
