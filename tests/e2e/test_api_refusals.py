"""Bad input gets a clear error and changes nothing: no workflow for an invalid order, no history for a refusal."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.devtools.demo import demo_order
from carbuy.devtools.stripe_cards import create_test_payment_method
from carbuy.runtime.signing import SIGNATURE_HEADER, sign
from tests.e2e.conftest import Stack
from tests.eventually import eventually

pytestmark = pytest.mark.e2e


def _customer(**changes: Any) -> dict[str, Any]:
    return {"name": "Li Lei", "id_card_number": "11010519491231002X", "phone": "13800138000", **changes}


INVALID_ORDERS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "unknown model": ({"model": "aion-ut-ultra"}, ("body", "model")),
    "unknown colour": ({"colour": "gold"}, ("body", "colour")),
    "missing customer": ({"customer": None}, ("body", "customer")),
    "malformed phone": ({"customer": _customer(phone="12345")}, ("body", "customer", "phone")),
    "bad id card checksum": (
        {"customer": _customer(id_card_number="110105194912310021")},
        ("body", "customer", "id_card_number"),
    ),
    "blank name": ({"customer": _customer(name="   ")}, ("body", "customer", "name")),
    "unknown plan": ({"financing_plan": "lease_to_own"}, ("body", "financing_plan")),
    "negative price": ({"price_fen": -8_990_000}, ("body", "price_fen")),
    "non-integer price": ({"price_fen": 89_900.5}, ("body", "price_fen")),
    "price as a string": ({"price_fen": "8990000"}, ("body", "price_fen")),
    "wrong price": ({"price_fen": 8_000_000}, ("body", "price_fen")),
    "unknown field": ({"discount_fen": 100}, ("body", "discount_fen")),
}


async def _exists(temporal: Client, order_id: str) -> bool:
    try:
        await temporal.get_workflow_handle(purchase_workflow_id(order_id)).describe()
        return True
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise


@pytest.mark.parametrize("case", list(INVALID_ORDERS))
async def test_an_invalid_order_gets_422_with_its_field_errors_and_starts_no_workflow(
    api: httpx.AsyncClient, temporal: Client, case: str
) -> None:
    changes, loc = INVALID_ORDERS[case]
    body = {**demo_order(FinancingPlan.FULL), **changes}
    if body.get("customer") is None:
        del body["customer"]
    response = await api.post("/orders", json=body)

    assert response.status_code == 422, response.text
    assert loc in [tuple(e["loc"]) for e in response.json()["detail"]], response.text
    assert not await _exists(temporal, body["order_id"])


async def test_a_loan_with_too_small_a_down_payment_is_refused_on_its_field(api: httpx.AsyncClient) -> None:
    body = demo_order(FinancingPlan.LOAN)
    body["loan"] = {"down_payment_fen": 100_000, "term_months": 36}
    response = await api.post("/orders", json=body)
    assert response.status_code == 422
    assert ("body", "loan", "down_payment_fen") in [tuple(e["loc"]) for e in response.json()["detail"]]


async def test_an_order_without_the_backend_token_is_refused_and_starts_nothing(stack: Stack, temporal: Client) -> None:
    body = demo_order(FinancingPlan.FULL)
    async with httpx.AsyncClient(base_url=stack.api_url) as anonymous:
        response = await anonymous.post("/orders", json=body, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert not await _exists(temporal, body["order_id"])


async def test_the_same_order_id_with_another_body_is_refused_with_409(api: httpx.AsyncClient) -> None:
    body = demo_order(FinancingPlan.FULL)
    assert (await api.post("/orders", json=body)).status_code == 201
    other = await api.post("/orders", json={**body, "colour": "pink"})
    assert other.status_code == 409
    assert "different order" in other.json()["detail"]


async def test_an_unknown_purchase_is_404(api: httpx.AsyncClient) -> None:
    assert (await api.get("/purchases/NO-SUCH-ORDER")).status_code == 404
    lock = await api.post("/purchases/NO-SUCH-ORDER/cancel", json={"reason": "test"})
    assert lock.status_code == 404


async def test_an_action_in_the_wrong_stage_is_409_with_the_stage_and_leaves_history_unchanged(
    api: httpx.AsyncClient, temporal: Client
) -> None:
    body = demo_order(FinancingPlan.FULL)
    assert (await api.post("/orders", json=body)).status_code == 201
    handle = temporal.get_workflow_handle(purchase_workflow_id(body["order_id"]))
    await api.get(f"/purchases/{body['order_id']}")
    before = [e.event_type for e in (await handle.fetch_history()).events]

    lock = {"trim": "standard", "colour": "green", "delivery_centre": "NGC-1", "financing_plan": "full"}
    refused = [
        await api.post(f"/purchases/{body['order_id']}/lock", json=lock),
        await api.post(f"/purchases/{body['order_id']}/balance", json={"payment_method": "pm_x"}),
        await api.post(f"/purchases/{body['order_id']}/handover", json={"accepted": True}),
    ]

    assert [(r.status_code, r.json()["stage"]) for r in refused] == [(409, "deposit")] * 3
    after = [e.event_type for e in (await handle.fetch_history()).events]
    assert after == before


async def test_a_lock_with_a_plan_that_does_not_fit_the_mode_is_422_and_the_purchase_still_waits_for_it(
    api: httpx.AsyncClient, stack: Stack
) -> None:
    body = demo_order(FinancingPlan.FULL)
    assert (await api.post("/orders", json=body)).status_code == 201
    card = await asyncio.to_thread(create_test_payment_method, stack.settings.stripe)
    paid = await api.post(f"/purchases/{body['order_id']}/deposit", json={"payment_method": card})
    assert paid.json()["accepted"] is True

    bad = await api.post(
        f"/purchases/{body['order_id']}/lock",
        json={"trim": "standard", "colour": "green", "delivery_centre": "NGC-1", "financing_plan": "battery_lease"},
    )

    assert bad.status_code == 422 and "does not fit mode" in bad.json()["detail"]
    gold = await api.post(
        f"/purchases/{body['order_id']}/lock",
        json={"trim": "standard", "colour": "gold", "delivery_centre": "NGC-1", "financing_plan": "full"},
    )
    assert gold.status_code == 422 and "unknown colour" in gold.json()["detail"]
    assert gold.json()["stage"] == "lock"

    async def waits_for_the_lock() -> dict[str, Any]:
        status: dict[str, Any] = (await api.get(f"/purchases/{body['order_id']}")).json()
        assert any("lock" in w["what"] for w in status["waiting_for"]), status["waiting_for"]
        return status

    status = await eventually(waits_for_the_lock, interval=0.1)
    assert status["stage"] == "lock" and any("lock" in w["what"] for w in status["waiting_for"])


async def test_a_partner_callback_with_a_bad_signature_is_400_and_delivers_nothing(
    stack: Stack, api: httpx.AsyncClient, temporal: Client
) -> None:
    body = demo_order(FinancingPlan.FULL)
    assert (await api.post("/orders", json=body)).status_code == 201
    handle = temporal.get_workflow_handle(purchase_workflow_id(body["order_id"]))
    await api.get(f"/purchases/{body['order_id']}")
    callback = json.dumps(
        {
            "event_id": "evt-forged",
            "institution": "lender",
            "type": "loan.approved",
            "reference": "loan-1",
            "occurred_at": "2026-11-26T00:00:00Z",
            "data": {},
            "order_ref": body["order_id"],
        }
    ).encode()
    async with httpx.AsyncClient(base_url=stack.api_url) as partner:
        forged = await partner.post(
            "/webhooks/partners", content=callback, headers={SIGNATURE_HEADER: sign(callback, "not-the-secret")}
        )
        unsigned = await partner.post("/webhooks/partners", content=callback)
        signed = await partner.post(
            "/webhooks/partners",
            content=callback,
            headers={SIGNATURE_HEADER: sign(callback, stack.settings.partners.callback_secret)},
        )

        impostor = json.dumps({**json.loads(callback), "institution": "store"}).encode()
        wrong_sender = await partner.post(
            "/webhooks/partners",
            content=impostor,
            headers={SIGNATURE_HEADER: sign(impostor, stack.settings.partners.callback_secret)},
        )

    assert forged.status_code == 400 and unsigned.status_code == 400
    assert wrong_sender.status_code == 400 and "store cannot send loan.approved" in wrong_sender.text
    assert signed.status_code == 200
    signals = [
        e
        for e in (await handle.fetch_history()).events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
    ]
    assert len(signals) == 1
