"""Partner outcomes chosen in the sandbox play out over the whole stack: money moves back where it must."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage, PurchaseStatus
from carbuy.demo import DemoCustomer, demo_order
from tests.e2e.conftest import Stack, payment_intents_of

pytestmark = pytest.mark.e2e


async def _choose(stack: Stack, order_id: str, *scenarios: str) -> None:
    async with httpx.AsyncClient(base_url=stack.settings.partners.base_url) as sandbox:
        response = await sandbox.put(f"/_sandbox/orders/{order_id}/scenarios", json={"scenarios": list(scenarios)})
        response.raise_for_status()


async def _buy(stack: Stack, body: dict[str, Any]) -> tuple[str, list[str], PurchaseStatus]:
    lines: list[str] = []
    customer = DemoCustomer(stack.settings, stack.api_url, lines.append)
    try:
        order_id = await customer.place(body)
        return order_id, lines, await customer.buy(order_id, timeout_s=180)
    finally:
        await customer.aclose()


async def test_a_denied_loan_cancels_the_purchase_and_refunds_the_whole_deposit_in_stripe(
    stack: Stack, stripe_client: stripe.StripeClient
) -> None:
    body = demo_order(FinancingPlan.LOAN)
    await _choose(stack, str(body["order_id"]), "loan_denied")
    order_id, lines, final = await _buy(stack, body)

    assert final.stage == PurchaseStage.CANCELLED, "\n".join(lines)
    assert "loan denied" in (final.reason or "")
    [deposit] = [i for i in payment_intents_of(stripe_client, order_id) if i.status == "succeeded"]
    refunds = stripe_client.v1.refunds.list({"payment_intent": deposit.id}).data
    assert [(r.amount, r.status) for r in refunds] == [(10_000, "succeeded")]
    assert final.amounts.refunded == 10_000


async def test_no_stock_waits_for_the_oem_and_the_purchase_still_completes(stack: Stack) -> None:
    body = demo_order(FinancingPlan.FULL)
    await _choose(stack, str(body["order_id"]), "no_stock")
    _, lines, final = await _buy(stack, body)

    assert final.stage == PurchaseStage.COMPLETED, "\n".join(lines)
    assert any("inventory.allocated" in entry.event for entry in final.timeline)
