"""A purchase stuck on a silent lender: placed, paid and locked with a loan, then left until its SLA passes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from temporalio.client import Client, WorkflowExecutionDescription

from carbuy.contract.ops import NEEDS_ATTENTION_KEY
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage, purchase_workflow_id
from carbuy.devtools.demo import DemoCustomer, demo_order
from carbuy.runtime.settings import Settings
from tests.eventually import eventually

SILENT_LENDER = "lender_silent"


@dataclass(frozen=True)
class StuckPurchase:
    """A purchase that needs attention, and how to reach it."""

    order_id: str

    @property
    def workflow_id(self) -> str:
        """Its workflow id."""
        return purchase_workflow_id(self.order_id)


async def choose_scenarios(settings: Settings, order_id: str, *scenarios: str) -> None:
    """Make the stack's sandbox play these scenarios for the order."""
    async with httpx.AsyncClient(base_url=settings.partners.base_url, timeout=10) as http:
        response = await http.put(f"/_sandbox/orders/{order_id}/scenarios", json={"scenarios": list(scenarios)})
        response.raise_for_status()


async def place_and_lock(settings: Settings, api_url: str, plan: FinancingPlan, *scenarios: str) -> str:
    """Place an order with these sandbox scenarios, pay its deposit and lock it; its order id."""
    body: dict[str, Any] = demo_order(plan)
    await choose_scenarios(settings, body["order_id"], *scenarios)
    customer = DemoCustomer(settings, api_url, lambda _: None)
    try:
        order_id = await customer.place(body)
        await customer.action(order_id, "deposit", {"payment_method": await customer.card()})
        status = await customer.status(order_id)
        assert status.stage == PurchaseStage.LOCK, status
        await customer.action(
            order_id,
            "lock",
            {
                "trim": "standard",
                "colour": "green",
                "delivery_centre": "NGC-Guangzhou-Tianhe",
                "financing_plan": plan.value,
                "commercial_insurance": True,
                **({"loan": body["loan"]} if plan.has_loan else {}),
            },
        )
    finally:
        await customer.aclose()
    return order_id


async def wait_for_attention(
    temporal: Client, workflow_id: str, *, needed: bool = True, timeout_s: float = 180.0
) -> WorkflowExecutionDescription:
    """Describe the purchase until its NeedsAttention search attribute is `needed` (the workflow sets it)."""
    handle = temporal.get_workflow_handle(workflow_id)

    async def flagged() -> WorkflowExecutionDescription:
        description = await handle.describe()
        attributes = description.typed_search_attributes
        assert attributes.get(NEEDS_ATTENTION_KEY) is needed, (
            f"{workflow_id}: NeedsAttention wanted {needed}: {attributes}"
        )
        return description

    return await eventually(flagged, timeout=timeout_s, interval=0.5)


async def stuck_on_silent_lender(settings: Settings, api_url: str, temporal: Client) -> StuckPurchase:
    """A loan purchase whose lender never answers: once the loan-decision SLA passes it needs attention."""
    order_id = await place_and_lock(settings, api_url, FinancingPlan.LOAN, SILENT_LENDER)
    purchase = StuckPurchase(order_id)
    await wait_for_attention(temporal, purchase.workflow_id)
    return purchase
