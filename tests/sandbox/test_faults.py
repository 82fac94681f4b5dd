"""Seeded fault injection per institution: failed, slow and timed-out requests; duplicate, late and lost callbacks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from carbuy.contract.events import PartnerEventType as Event
from tests.fixtures.sandbox import CallbackSink, SandboxControl
from tests.sandbox.test_resend import registration_body, settled_callbacks


@pytest.fixture
async def http(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the sandbox; every fault and count is cleared before and after the test."""
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=5) as client:
        assert (await client.delete("/_sandbox/faults")).status_code == 204
        yield client
        await client.delete("/_sandbox/faults")


async def inject(http: httpx.AsyncClient, institution: str, **faults: Any) -> None:
    response = await http.put(f"/_sandbox/faults/{institution}", json=faults)
    assert response.status_code == 200, response.text


async def injected(http: httpx.AsyncClient, institution: str) -> dict[str, int]:
    counts: dict[str, int] = (await http.get("/_sandbox/faults")).json()["institutions"][institution]["injected"]
    return {kind: count for kind, count in counts.items() if count}


def policy_body(order_ref: str) -> dict[str, Any]:
    return {
        "order_ref": order_ref,
        "vin": "LMGAE1U50TG000001",
        "holder_name": "Han Meimei",
        "holder_id_number": "11010519491231002X",
        "vehicle_price_fen": 8_990_000,
        "commercial": True,
    }


def shipment_body(order_ref: str, callback_url: str) -> dict[str, Any]:
    return {
        "order_ref": order_ref,
        "vin": "LMGAE1U50TG000001",
        "warehouse": "GAC-Huadu-WH2",
        "delivery_centre": "GZ-Tianhe-01",
        "callback_url": callback_url,
    }


async def bind(http: httpx.AsyncClient, order_ref: str) -> httpx.Response:
    return await http.post("/insurer/policies", json=policy_body(order_ref), headers={"Idempotency-Key": order_ref})


async def test_an_error_rate_fails_the_request_before_anything_is_made(
    http: httpx.AsyncClient, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    await inject(http, "insurer", error_rate=1.0, status_code=502)

    failed = await bind(http, order_ref)

    assert (failed.status_code, failed.json()["error"]["type"]) == (502, "injected_fault")
    assert (await http.get(f"/_sandbox/orders/{order_ref}")).status_code == 404
    assert await injected(http, "insurer") == {"error": 1}


async def test_a_timed_out_request_was_done_and_its_replay_returns_the_same_object(
    http: httpx.AsyncClient, sandbox: SandboxControl, sandbox_url: str, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await inject(http, "insurer", timeout_rate=1.0, timeout_s=0.6)

    async with httpx.AsyncClient(base_url=sandbox_url, timeout=0.2) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            await bind(impatient, order_ref)
    started = time.monotonic()
    other = sandbox.new_order_ref()
    filed = await http.post(
        "/registry/applications", json=registration_body(other, callback_sink.url), headers={"Idempotency-Key": other}
    )
    assert (filed.status_code, time.monotonic() - started < 0.3) == (201, True)  # the hold keeps no lock

    [policy] = (await sandbox.inspect(order_ref))["objects"]
    await inject(http, "insurer")
    replayed = await bind(http, order_ref)

    assert (replayed.status_code, replayed.headers["Idempotent-Replayed"]) == (201, "true")
    assert replayed.json()["policy_id"] == policy["id"]
    assert len((await sandbox.inspect(order_ref))["objects"]) == 1
    assert await injected(http, "insurer") == {"timeout": 1}


async def test_a_slow_request_is_answered_late_but_done(http: httpx.AsyncClient, sandbox: SandboxControl) -> None:
    order_ref = sandbox.new_order_ref()
    await inject(http, "insurer", slow_rate=1.0, slow_ms=150)

    started = time.monotonic()
    bound = await bind(http, order_ref)

    assert (bound.status_code, time.monotonic() - started >= 0.15) == (201, True)
    assert await injected(http, "insurer") == {"slow": 1}


async def test_a_duplicated_callback_arrives_twice_under_one_event_id(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await inject(http, "registry", duplicate_rate=1.0)

    await http.post(
        "/registry/applications",
        json=registration_body(order_ref, callback_sink.url),
        headers={"Idempotency-Key": order_ref},
    )

    first, second = await callback_sink.wait_for(order_ref, count=2)
    assert (first.event_id, first.type) == (second.event_id, Event.PLATE_ISSUED)
    [record] = await settled_callbacks(sandbox, order_ref, 1)
    assert (record["status"], record["attempts"]) == ("delivered", 2)
    assert await injected(http, "registry") == {"duplicate": 1}


async def test_a_held_back_callback_is_overtaken_by_the_next_about_the_same_shipment(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await inject(http, "carrier", reorder_rate=0.5, reorder_delay_s=0.3, seed=1)

    await http.post(
        "/carrier/shipments", json=shipment_body(order_ref, callback_sink.url), headers={"Idempotency-Key": order_ref}
    )

    got = await callback_sink.wait_for(order_ref, count=4)
    emitted = [c["event_id"] for c in await settled_callbacks(sandbox, order_ref, 4)]
    assert len({c.reference for c in got}) == 1
    assert sorted(c.event_id for c in got) == sorted(emitted) and [c.event_id for c in got] != emitted
    # seed 1 holds back the third of the four: shipment.arrived comes after pdi.passed
    assert [c.type for c in got[2:]] == [Event.PDI_PASSED, Event.SHIPMENT_ARRIVED]
    assert await injected(http, "carrier") == {"reorder": 1}


async def test_a_dropped_callback_is_never_sent_until_its_request_is_replayed(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    body = registration_body(order_ref, callback_sink.url)
    await inject(http, "registry", drop_rate=1.0)
    await http.post("/registry/applications", json=body, headers={"Idempotency-Key": order_ref})
    [dropped] = await settled_callbacks(sandbox, order_ref, 1)
    await sandbox.quiet(order_ref)
    assert (dropped["status"], callback_sink.received(order_ref)) == ("dropped", [])

    await http.post("/registry/applications", json=body, headers={"Idempotency-Key": order_ref})

    [plate] = await callback_sink.wait_for(order_ref, count=1)
    [record] = await settled_callbacks(sandbox, order_ref, 1)
    assert (plate.event_id, record["status"], record["resends"]) == (dropped["event_id"], "delivered", 1)
    assert await injected(http, "registry") == {"drop": 1}


async def test_a_replay_sends_every_lost_callback_in_order_then_the_latest(
    http: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    body = shipment_body(order_ref, callback_sink.url)
    await inject(http, "carrier", drop_rate=0.5, seed=1)
    await http.post("/carrier/shipments", json=body, headers={"Idempotency-Key": order_ref})
    first = await callback_sink.wait_for(order_ref, until=Event.PDI_PASSED)
    records = await settled_callbacks(sandbox, order_ref, 4)
    lost = [r["type"] for r in records if r["status"] == "dropped"]
    assert (lost, records[-1]["type"], records[-1]["status"]) == (
        [Event.SHIPMENT_ARRIVED],
        Event.PDI_PASSED,
        "delivered",
    )

    await http.post("/carrier/shipments", json=body, headers={"Idempotency-Key": order_ref})

    got = await callback_sink.wait_for(order_ref, count=len(first) + 2)
    assert [c.type for c in got[len(first) :]] == [Event.SHIPMENT_ARRIVED, Event.PDI_PASSED]
    assert [r["status"] for r in await settled_callbacks(sandbox, order_ref, 4)] == ["delivered"] * 4


async def test_the_same_seed_injects_the_same_faults_again(http: httpx.AsyncClient, sandbox: SandboxControl) -> None:
    async def run() -> list[int]:
        await inject(http, "insurer", error_rate=0.5, seed=3)
        return [(await bind(http, sandbox.new_order_ref())).status_code for _ in range(10)]

    first, second = await run(), await run()

    assert first == second and {201, 503} == set(first)
    assert await injected(http, "insurer") == {"error": 2 * first.count(503)}


async def test_the_faults_view_lists_every_institution_and_clearing_forgets_the_counts(
    http: httpx.AsyncClient, sandbox: SandboxControl
) -> None:
    await inject(http, "insurer", fail_next=2, slow_rate=0.25, seed=9)
    await bind(http, sandbox.new_order_ref())

    view = (await http.get("/_sandbox/faults")).json()
    insurer = view["institutions"]["insurer"]
    assert len(view["institutions"]) == 8 and view["injected_total"] == 1
    assert (insurer["faults"]["fail_next"], insurer["faults"]["seed"], insurer["injected"]["fail_next"]) == (1, 9, 1)

    assert (await http.delete("/_sandbox/faults")).status_code == 204
    cleared = (await http.get("/_sandbox/faults")).json()
    assert (cleared["injected_total"], cleared["institutions"]["insurer"]["faults"]["fail_next"]) == (0, 0)
    assert (await bind(http, sandbox.new_order_ref())).status_code == 201


async def test_resetting_the_sandbox_forgets_faults_and_counts(http: httpx.AsyncClient) -> None:
    await inject(http, "notifier", error_rate=1.0)
    await http.get("/notifier/messages", params={"order_ref": "ord-x"})

    assert (await http.post("/_sandbox/reset")).status_code == 204

    view = (await http.get("/_sandbox/faults")).json()
    assert (view["injected_total"], view["institutions"]["notifier"]["faults"]["error_rate"]) == (0, 0.0)


@pytest.mark.parametrize("faults", [{"error_rate": 1.5}, {"drop_rate": -0.1}, {"timeout_s": 0}, {"eror_rate": 0.1}])
async def test_bad_faults_are_a_bad_request(http: httpx.AsyncClient, faults: dict[str, Any]) -> None:
    response = await http.put("/_sandbox/faults/lender", json=faults)

    assert response.status_code == 400
    assert (await http.get("/_sandbox/faults")).json()["institutions"]["lender"]["faults"]["error_rate"] == 0.0


async def test_an_unknown_institution_is_a_bad_request(http: httpx.AsyncClient) -> None:
    assert (await http.put("/_sandbox/faults/bank", json={"error_rate": 0.1})).status_code == 400
