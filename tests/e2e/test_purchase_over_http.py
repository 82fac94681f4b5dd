"""The whole stack over HTTP: an order placed with the API becomes a completed purchase, charged once."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import stripe
from temporalio.client import Client

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import STAGE_KEY, STATE_KEY, PurchaseStage, purchase_workflow_id
from carbuy.devtools.demo import DemoCustomer, demo_order
from tests.e2e.conftest import Stack, payment_intents_of

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("plan", [FinancingPlan.LOAN, FinancingPlan.BATTERY_LEASE])
async def test_an_order_placed_over_http_completes_and_stripe_holds_exactly_its_two_charges(
    stack: Stack, stripe_client: stripe.StripeClient, temporal: Client, plan: FinancingPlan
) -> None:
    lines: list[str] = []
    customer = DemoCustomer(stack.settings, stack.api_url, lines.append)
    try:
        order_id = await customer.place(demo_order(plan))
        final = await customer.buy(order_id, timeout_s=180)
    finally:
        await customer.aclose()

    assert final.stage == PurchaseStage.COMPLETED, "\n".join(lines)
    assert final.plate and final.vin
    intents = payment_intents_of(stripe_client, order_id)
    succeeded = sorted((i.metadata["kind"], i.amount, i.currency) for i in intents if i.status == "succeeded")
    expected_balance = final.amounts.balance_due
    assert succeeded == sorted([("deposit", 10_000, "cny"), ("balance", expected_balance, "cny")])
    assert final.amounts.paid == 10_000 + expected_balance
    assert final.amounts.balance_due > 0
    description = await temporal.get_workflow_handle(purchase_workflow_id(order_id)).describe()
    assert description.typed_search_attributes.get(STAGE_KEY) == "completed"
    assert description.typed_search_attributes.get(STATE_KEY) == "completed"
    summary = await description.static_summary() or ""
    assert order_id in summary and "Li Lei" not in summary and "13800138000" not in summary


async def test_the_same_order_placed_twice_is_one_purchase_with_one_deposit_charge(
    api: httpx.AsyncClient, stack: Stack, stripe_client: stripe.StripeClient
) -> None:
    body = demo_order(FinancingPlan.FULL)
    first, second = await asyncio.gather(api.post("/orders", json=body), api.post("/orders", json=body))
    again = await api.post("/orders", json=body)

    assert sorted([first.status_code, second.status_code]) == [200, 201]
    assert again.status_code == 200 and again.json()["created"] is False
    assert {r.json()["purchase_id"] for r in (first, second, again)} == {f"purchase-{body['order_id']}"}

    customer = DemoCustomer(stack.settings, stack.api_url, lambda _: None)
    try:
        card = await customer.card()
    finally:
        await customer.aclose()
    paid = await api.post(f"/purchases/{body['order_id']}/deposit", json={"payment_method": card})
    assert paid.status_code == 200 and paid.json()["accepted"] is True
    twice = await api.post(f"/purchases/{body['order_id']}/deposit", json={"payment_method": card})
    assert twice.status_code == 409 and twice.json()["stage"] == "lock"

    deposits = [i for i in payment_intents_of(stripe_client, body["order_id"]) if i.metadata["kind"] == "deposit"]
    assert [(i.status, i.amount) for i in deposits] == [("succeeded", 10_000)]
