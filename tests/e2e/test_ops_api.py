"""The ops API over HTTP: only the ops token opens it, bad input changes nothing, stuck purchases are found."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.devtools.demo import demo_order
from tests.e2e.conftest import Stack
from tests.e2e.stuck import StuckPurchase
from tests.eventually import eventually

pytestmark = pytest.mark.e2e

WHO = {"operator": "wang.fang", "reason": "lender answered by phone: ask again"}
OPS_CALLS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/ops/stuck", None),
    ("GET", "/ops/purchases/ANY", None),
    ("POST", "/ops/purchases/ANY/retry", WHO),
    (
        "POST",
        "/ops/purchases/ANY/correct-registration",
        {**WHO, "owner_name": "Li Lei", "owner_id_number": "11010519491231002X"},
    ),
    ("POST", "/ops/purchases/ANY/delivery-centre", {**WHO, "delivery_centre": "NGC-Guangzhou-Baiyun"}),
    ("POST", "/ops/purchases/ANY/extend-deadline", {**WHO, "extend_by": "P2D"}),
    ("POST", "/ops/purchases/ANY/cancel", WHO),
    (
        "POST",
        "/ops/purchases/ANY/resolve-undo",
        {**WHO, "undo": "refund_deposit", "reference": "pi_1", "external_reference": "manual-1"},
    ),
]
BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("retry", {"operator": "x", "reason": "too short a login"}, "operator"),
    ("retry", {"operator": "wang fang", "reason": "a space is not a login"}, "operator"),
    ("retry", {"operator": "wang.fang"}, "reason"),
    ("correct-registration", {**WHO, "owner_name": "Li Lei", "owner_id_number": "1101"}, "owner_id_number"),
    ("delivery-centre", WHO, "delivery_centre"),
    ("extend-deadline", {**WHO, "extend_by": "P90D"}, "extend_by"),
    ("extend-deadline", {**WHO, "extend_by": 0}, "extend_by"),
    ("cancel", {**WHO, "waive_fee": "perhaps"}, "waive_fee"),
    (
        "resolve-undo",
        {**WHO, "undo": "refund_deposit", "reference": "pi_1", "external_reference": ""},
        "external_reference",
    ),
]


@pytest.fixture
async def ops(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The API as ops staff call it (ops token)."""
    async with httpx.AsyncClient(
        base_url=stack.api_url, timeout=60.0, headers={"Authorization": f"Bearer {stack.settings.api.ops_token}"}
    ) as client:
        yield client


async def listed(ops: httpx.AsyncClient, order_id: str, timeout_s: float = 15.0, **filters: str) -> dict[str, Any]:
    """The stuck list once it shows the order (visibility is eventually consistent)."""

    async def found() -> dict[str, Any]:
        response = await ops.get("/ops/stuck", params=filters)
        assert response.status_code == 200, response.text
        rows = [row for row in response.json()["purchases"] if row["order_id"] == order_id]
        assert rows, f"{order_id} not listed as stuck: {response.json()}"
        row: dict[str, Any] = rows[0]
        return row

    return await eventually(found, timeout=timeout_s, interval=0.5)


@pytest.mark.parametrize("token", [None, "wrong-token", "backend"])
async def test_every_ops_call_without_the_ops_token_is_401(stack: Stack, token: str | None) -> None:
    bearer = stack.settings.api.backend_token if token == "backend" else token
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    async with httpx.AsyncClient(base_url=stack.api_url, timeout=30.0, headers=headers) as client:
        answers = [await client.request(method, path, json=body) for method, path, body in OPS_CALLS]

    assert [a.status_code for a in answers] == [401] * len(OPS_CALLS)
    assert all(a.headers["WWW-Authenticate"] == "Bearer" for a in answers)


async def test_an_unknown_purchase_is_404_for_ops(ops: httpx.AsyncClient) -> None:
    shown = await ops.get("/ops/purchases/NO-SUCH-ORDER")
    retried = await ops.post("/ops/purchases/NO-SUCH-ORDER/retry", json=WHO)

    assert (shown.status_code, retried.status_code) == (404, 404)
    assert retried.json()["detail"] == "no purchase for order 'NO-SUCH-ORDER'"


@pytest.mark.parametrize(
    "params",
    [
        {"city": "Guangzhou' OR NeedsAttention = false OR City = 'x"},
        {"delivery_centre": 'NGC" OR 1=1'},
        {"stage": "financing' OR 'a'='a"},
        {"plan": "lease_to_own"},
        {"limit": "0"},
    ],
)
async def test_a_stuck_filter_that_could_change_the_query_is_422(
    ops: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await ops.get("/ops/stuck", params=params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", *params]


async def test_a_bad_ops_body_is_422_and_the_purchase_history_is_unchanged(
    ops: httpx.AsyncClient, api: httpx.AsyncClient, temporal: Client
) -> None:
    body = demo_order(FinancingPlan.FULL)
    assert (await api.post("/orders", json=body)).status_code == 201
    handle = temporal.get_workflow_handle(purchase_workflow_id(body["order_id"]))
    await api.get(f"/purchases/{body['order_id']}")
    before = [e.event_type for e in (await handle.fetch_history()).events]

    answers = [await ops.post(f"/ops/purchases/{body['order_id']}/{action}", json=bad) for action, bad, _ in BAD_BODIES]

    assert [a.status_code for a in answers] == [422] * len(BAD_BODIES)
    assert [a.json()["detail"][0]["loc"][-1] for a in answers] == [field for _, _, field in BAD_BODIES]
    after = [e.event_type for e in (await handle.fetch_history()).events]
    assert after == before


async def test_the_openapi_document_describes_the_ops_errors(ops: httpx.AsyncClient) -> None:
    spec = (await ops.get("/openapi.json")).json()

    retry = spec["paths"]["/ops/purchases/{order_id}/retry"]["post"]
    assert {"200", "401", "404", "409", "422", "503"} <= set(retry["responses"])
    assert retry["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/RetryInput")
    assert {p["name"] for p in spec["paths"]["/ops/stuck"]["get"]["parameters"]} == {
        "city",
        "stage",
        "delivery_centre",
        "plan",
        "limit",
    }


async def test_the_stuck_purchase_is_listed_with_its_stage_city_plan_and_since(
    ops: httpx.AsyncClient, stuck_loan: StuckPurchase
) -> None:
    row = await listed(ops, stuck_loan.order_id, city="Guangzhou", plan="loan", stage="financing")

    assert (row["workflow_id"], row["stage"], row["state"], row["city"], row["plan"]) == (
        stuck_loan.workflow_id,
        "financing",
        "active",
        "Guangzhou",
        "loan",
    )
    assert row["stuck_since"] is not None and row["delivery_centre"] == "NGC-Guangzhou-Tianhe"
    for other in (
        {"city": "Shenzhen"},
        {"stage": "registration"},
        {"plan": "full"},
        {"delivery_centre": "NGC-Shenzhen-Futian"},
    ):
        rows = (await ops.get("/ops/stuck", params=other)).json()["purchases"]
        assert stuck_loan.order_id not in [r["order_id"] for r in rows], other


async def test_ops_see_why_and_since_when_a_purchase_is_stuck(
    ops: httpx.AsyncClient, stuck_loan: StuckPurchase
) -> None:
    response = await ops.get(f"/ops/purchases/{stuck_loan.order_id}")

    assert response.status_code == 200, response.text
    shown = response.json()
    attention = shown["status"]["attention"]
    assert attention["needed"] is True and attention["since"] is not None
    assert any("lender" in reason for reason in attention["reasons"]), attention
    assert shown["search_attributes"]["NeedsAttention"] is True
    assert shown["search_attributes"]["City"] == "Guangzhou"
    assert shown["current_details"] and "lender" in shown["current_details"]
    assert shown["summary"] and stuck_loan.order_id in shown["summary"] and "Li Lei" not in shown["summary"]
    assert shown["execution_status"] == "RUNNING"


async def test_an_ops_action_that_does_not_fit_the_stage_is_409_and_changes_nothing(
    ops: httpx.AsyncClient, stuck_loan: StuckPurchase, temporal: Client
) -> None:
    handle = temporal.get_workflow_handle(stuck_loan.workflow_id)
    before = [e.event_type for e in (await handle.fetch_history()).events]

    refused = [
        await ops.post(
            f"/ops/purchases/{stuck_loan.order_id}/correct-registration",
            json={**WHO, "owner_name": "Li Lei", "owner_id_number": "11010519491231002X"},
        ),
        await ops.post(
            f"/ops/purchases/{stuck_loan.order_id}/resolve-undo",
            json={**WHO, "undo": "refund_deposit", "reference": "pi_1", "external_reference": "manual-1"},
        ),
        await ops.post(
            f"/ops/purchases/{stuck_loan.order_id}/delivery-centre",
            json={**WHO, "delivery_centre": "NGC-Guangzhou-Baiyun"},
        ),  # the car has already arrived there
    ]

    assert [(r.status_code, r.json()["stage"]) for r in refused] == [(409, "financing")] * 3, [r.text for r in refused]
    after = [e.event_type for e in (await handle.fetch_history()).events]
    assert after[: len(before)] == before
    assert not [EventType.Name(e) for e in after[len(before) :] if "UPDATE" in EventType.Name(e)]


async def test_the_customer_and_the_ops_team_are_told_through_the_outbox(
    stack: Stack, stuck_loan: StuckPurchase
) -> None:
    async with httpx.AsyncClient(base_url=stack.settings.partners.base_url, timeout=10) as sandbox:

        async def both_sent() -> dict[str, Any]:
            messages = (await sandbox.get("/notifier/messages", params={"order_ref": stuck_loan.order_id})).json()
            sent: dict[str, Any] = {m["template"]: m for m in messages["messages"]}
            assert {"purchase_delayed", "ops_attention"} <= set(sent), f"sent so far: {sorted(sent)}"
            return sent

        sent = await eventually(both_sent, timeout=30, interval=0.5)

    delayed, alert = sent["purchase_delayed"], sent["ops_attention"]
    assert (delayed["channel"], delayed["to"]) == ("sms", "13800138000")
    assert "the lender's decision" in delayed["body"]
    assert (alert["channel"], alert["to"]) == ("email", stack.settings.ops.notify_to)
    ui_link = f"{stack.settings.temporal.ui_url}/namespaces/default/workflows/{stuck_loan.workflow_id}"
    assert f'href="{ui_link}"' in alert["body"] and stuck_loan.order_id in alert["subject"]
