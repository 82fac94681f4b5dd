"""Partner outcomes chosen in the sandbox play out over the whole stack: money moves back where it must."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage, PurchaseStatus
from carbuy.devtools.demo import DemoCustomer, demo_order
from tests.e2e.conftest import Stack, payment_intents_of

pytestmark = pytest.mark.e2e


async def _choose(stack: Stack, order_id: str, *scenarios: str) -> None:
    async with httpx.AsyncClient(base_url=stack.settings.partners.base_url) as sandbox:
        response = await sandbox.put(f"/_sandbox/orders/{order_id}/scenarios", json={"scenarios": list(scenarios)})
        response.raise_for_status()


async def _buy(
    stack: Stack, body: dict[str, Any], *, switch_to_full: bool = True
) -> tuple[str, list[str], PurchaseStatus]:
    lines: list[str] = []
    customer = DemoCustomer(stack.settings, stack.api_url, lines.append)
    try:
        order_id = await customer.place(body)
        return order_id, lines, await customer.buy(order_id, timeout_s=180, switch_to_full=switch_to_full)
    finally:
        await customer.aclose()


def _succeeded(stripe_client: stripe.StripeClient, order_id: str) -> list[Any]:
    return [i for i in payment_intents_of(stripe_client, order_id) if i.status == "succeeded"]


async def test_a_denied_loan_cancelled_by_the_customer_refunds_the_whole_deposit_in_stripe(
    stack: Stack, stripe_client: stripe.StripeClient
) -> None:
    body = demo_order(FinancingPlan.LOAN)
    await _choose(stack, str(body["order_id"]), "loan_denied")
    order_id, lines, final = await _buy(stack, body, switch_to_full=False)

    assert final.stage == PurchaseStage.CANCELLED, "\n".join(lines)
    assert "no loan, no car" in (final.reason or "")
    [deposit] = _succeeded(stripe_client, order_id)
    refunds = stripe_client.v1.refunds.list({"payment_intent": deposit.id}).data
    assert [(r.amount, r.status) for r in refunds] == [(10_000, "succeeded")]  # no fee: the lender refused
    assert final.amounts.refunded == 10_000


async def test_after_a_denied_loan_the_customer_pays_in_full_and_gets_the_car(
    stack: Stack, stripe_client: stripe.StripeClient
) -> None:
    body = demo_order(FinancingPlan.LOAN)
    await _choose(stack, str(body["order_id"]), "loan_denied")
    order_id, lines, final = await _buy(stack, body)

    assert final.stage == PurchaseStage.COMPLETED, "\n".join(lines)
    assert final.financing_plan == FinancingPlan.FULL and final.amounts.loan_principal == 0
    charged = sorted(i.amount for i in _succeeded(stripe_client, order_id))
    assert charged == sorted([10_000, final.amounts.balance_due])
    assert sum(charged) == final.amounts.paid


@pytest.mark.parametrize("scenario", ["damaged_in_transit", "pdi_failed"])
async def test_a_car_that_cannot_be_delivered_is_replaced_and_the_purchase_completes(
    stack: Stack, scenario: str
) -> None:
    body = demo_order(FinancingPlan.FULL)
    await _choose(stack, str(body["order_id"]), scenario)
    _, lines, final = await _buy(stack, body)

    assert final.stage == PurchaseStage.COMPLETED, "\n".join(lines)
    events = [entry.event for entry in final.timeline]
    assert any("goes back to the OEM; reallocating (1)" in e for e in events), events
    assert any(e.startswith("undone: release_vehicle") for e in events)
    assert final.vin is not None and any(f"VIN {final.vin} reserved" in e for e in events)


async def test_a_lender_asking_for_documents_decides_once_the_customer_uploads_them(stack: Stack) -> None:
    body = demo_order(FinancingPlan.LOAN)
    await _choose(stack, str(body["order_id"]), "loan_documents_required")
    _, lines, final = await _buy(stack, body)

    assert final.stage == PurchaseStage.COMPLETED, "\n".join(lines)
    assert any("customer loan-documents" in line for line in lines)
    assert final.amounts.loan_principal > 0


async def test_no_stock_waits_for_the_oem_and_the_purchase_still_completes(stack: Stack) -> None:
    body = demo_order(FinancingPlan.FULL)
    await _choose(stack, str(body["order_id"]), "no_stock")
    _, lines, final = await _buy(stack, body)

    assert final.stage == PurchaseStage.COMPLETED, "\n".join(lines)
    assert any("inventory.allocated" in entry.event for entry in final.timeline)
