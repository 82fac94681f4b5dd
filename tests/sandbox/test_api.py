"""The sandbox's own HTTP API: errors, idempotency, scenario control, inspection, OpenAPI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from carbuy.contract.institutions import NAMES as INSTITUTIONS
from tests.fixtures.sandbox import CALLBACK_DELAY_S, SandboxControl


@pytest.fixture
async def http(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=5) as client:
        yield client


def policy_body(order_ref: str, **changes: Any) -> dict[str, Any]:
    return {
        "order_ref": order_ref,
        "vin": "LMGAE1U50TG000001",
        "holder_name": "Han Meimei",
        "holder_id_number": "11010519491231002X",
        "vehicle_price_fen": 8_990_000,
        "commercial": True,
        **changes,
    }


async def test_the_health_check_answers(http: httpx.AsyncClient) -> None:
    response = await http.get("/healthz")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_the_openapi_document_covers_every_institution_and_its_errors(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()

    prefixes = {path.split("/")[1] for path in spec["paths"]}
    assert set(INSTITUTIONS) <= prefixes
    bind = spec["paths"]["/insurer/policies"]["post"]
    assert {"201", "400", "409", "422", "503"} <= set(bind["responses"])
    assert bind["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in bind["parameters"])
    assert "422" not in spec["paths"]["/insurer/policies/{policy_id}"]["get"]["responses"]
    assert (await http.get("/docs")).status_code == 200


async def test_the_same_key_and_body_replay_the_first_answer(http: httpx.AsyncClient, sandbox: SandboxControl) -> None:
    order_ref = sandbox.new_order_ref()
    headers = {"Idempotency-Key": f"{order_ref}-bind"}

    first = await http.post("/insurer/policies", json=policy_body(order_ref), headers=headers)
    again = await http.post("/insurer/policies", json=policy_body(order_ref), headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


async def test_reusing_a_key_with_another_body_is_a_conflict(http: httpx.AsyncClient, sandbox: SandboxControl) -> None:
    order_ref = sandbox.new_order_ref()
    headers = {"Idempotency-Key": f"{order_ref}-bind"}
    await http.post("/insurer/policies", json=policy_body(order_ref), headers=headers)

    reused = await http.post("/insurer/policies", json=policy_body(order_ref, commercial=False), headers=headers)

    assert reused.status_code == 409
    assert reused.json()["error"]["type"] == "idempotency_key_reused"


async def test_a_post_without_an_idempotency_key_is_a_bad_request(
    http: httpx.AsyncClient, sandbox: SandboxControl
) -> None:
    response = await http.post("/insurer/policies", json=policy_body(sandbox.new_order_ref()))

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request"
    assert "Idempotency-Key" in response.json()["error"]["reason"]


@pytest.mark.parametrize(
    "path",
    [
        "/lender/applications/loan_x",
        "/battery/contracts/bat_x",
        "/insurer/policies/pol_x",
        "/registry/applications/reg_x",
        "/inventory/reservations/res_x",
        "/carrier/shipments/shp_x",
        "/stores/bookings/bkg_x",
    ],
)
async def test_an_unknown_id_is_not_found(http: httpx.AsyncClient, path: str) -> None:
    response = await http.get(path)

    assert response.status_code == 404
    assert response.json()["error"]["type"].endswith("_not_found")


async def test_an_id_of_another_order_is_not_found(http: httpx.AsyncClient, sandbox: SandboxControl) -> None:
    order_ref, other = sandbox.new_order_ref(), sandbox.new_order_ref()
    policy = (
        await http.post(
            "/insurer/policies", json=policy_body(order_ref), headers={"Idempotency-Key": f"{order_ref}-bind"}
        )
    ).json()

    response = await http.post(
        f"/insurer/policies/{policy['policy_id']}/cancel",
        json={"order_ref": other},
        headers={"Idempotency-Key": f"{other}-cancel"},
    )

    assert response.status_code == 404


async def test_a_refusal_has_a_reason_type_and_is_replayed_under_its_key(
    http: httpx.AsyncClient, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "insurer_refuses")
    headers = {"Idempotency-Key": f"{order_ref}-bind"}

    refused = await http.post("/insurer/policies", json=policy_body(order_ref), headers=headers)
    await sandbox.choose(order_ref)
    replayed = await http.post("/insurer/policies", json=policy_body(order_ref), headers=headers)

    assert refused.status_code == 422
    assert set(refused.json()["error"]) == {"type", "reason"}
    assert (replayed.status_code, replayed.json()) == (422, refused.json())


async def test_scenarios_chosen_for_an_order_show_when_inspecting_it(
    http: httpx.AsyncClient, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()

    chosen = await http.put(f"/_sandbox/orders/{order_ref}/scenarios", json={"scenarios": ["no_stock", "loan_denied"]})

    assert chosen.json() == {"order_ref": order_ref, "scenarios": ["loan_denied", "no_stock"]}
    view = await sandbox.inspect(order_ref)
    assert (view["scenarios"], view["requests"], view["objects"], view["callbacks"]) == (
        ["loan_denied", "no_stock"],
        [],
        [],
        [],
    )


async def test_an_unknown_scenario_is_a_bad_request(http: httpx.AsyncClient, sandbox: SandboxControl) -> None:
    response = await http.put(
        f"/_sandbox/orders/{sandbox.new_order_ref()}/scenarios", json={"scenarios": ["meteor_strike"]}
    )

    assert response.status_code == 400


async def test_inspecting_an_order_the_sandbox_never_saw_is_not_found(
    http: httpx.AsyncClient, sandbox: SandboxControl
) -> None:
    response = await http.get(f"/_sandbox/orders/{sandbox.new_order_ref()}")

    assert response.status_code == 404


async def test_the_config_changes_at_run_time_field_by_field(sandbox: SandboxControl) -> None:
    try:
        config = await sandbox.configure(latency_ms=5)
    finally:
        await sandbox.configure(latency_ms=0)

    assert (config["latency_ms"], config["callback_delay_s"]) == (5, CALLBACK_DELAY_S)


async def test_an_injected_fault_fails_only_the_next_request_and_changes_nothing(
    http: httpx.AsyncClient, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    headers = {"Idempotency-Key": f"{order_ref}-bind"}
    await sandbox.fail_next("insurer", times=1, status_code=502)

    failed = await http.post("/insurer/policies", json=policy_body(order_ref), headers=headers)
    bound = await http.post("/insurer/policies", json=policy_body(order_ref), headers=headers)

    assert (failed.status_code, failed.json()["error"]["type"]) == (502, "injected_fault")
    assert bound.status_code == 201
    assert len((await sandbox.inspect(order_ref))["requests"]) == 1


async def test_the_outbox_lists_an_orders_messages(http: httpx.AsyncClient, sandbox: SandboxControl) -> None:
    order_ref = sandbox.new_order_ref()
    body = {"order_ref": order_ref, "channel": "sms", "to": "13800138000", "template": "t", "body": "hello"}
    await http.post("/notifier/messages", json=body, headers={"Idempotency-Key": f"{order_ref}-sms"})

    listed = (await http.get("/notifier/messages", params={"order_ref": order_ref})).json()["messages"]

    assert [(m["body"], m["status"]) for m in listed] == [("hello", "sent")]


async def test_resetting_forgets_every_order(http: httpx.AsyncClient, sandbox: SandboxControl) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "no_stock")

    response = await http.post("/_sandbox/reset")

    assert response.status_code == 204
    assert (await http.get(f"/_sandbox/orders/{order_ref}")).status_code == 404
