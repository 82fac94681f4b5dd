"""The demo customer: places an order through the API and plays the customer's part until the end."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from carbuy.client.api import CustomerAction, StarterClient, purchase_id, purchase_status
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage, PurchaseStatus
from carbuy.devtools.stripe_cards import GOOD_CARD, create_test_payment_method
from carbuy.runtime.settings import Settings

DEMO_ID_CARD = "11010519491231002X"
FINAL_STAGES = (PurchaseStage.COMPLETED, PurchaseStage.CANCELLED, PurchaseStage.FAILED)


DEMO_DELIVERY_CENTRE = "NGC-Guangzhou-Tianhe"


def demo_order(plan: FinancingPlan, *, order_id: str | None = None, price_fen: int | None = None) -> dict[str, Any]:
    """An order body for the National Good Car with this plan."""
    battery = plan.has_battery_lease
    price = price_fen or (4_990_000 if battery else 8_990_000)
    body: dict[str, Any] = {
        "order_id": order_id or f"DEMO-{uuid.uuid4().hex[:10]}",
        "customer": {"name": "Li Lei", "id_card_number": DEMO_ID_CARD, "phone": "13800138000"},
        "model": "aion-ut-super",
        "trim": "standard",
        "colour": "green",
        "city": "Guangzhou",
        "mode": plan.mode.value,
        "financing_plan": plan.value,
        "commercial_insurance": True,
        "price_fen": price,
    }
    if plan.has_loan:
        body["loan"] = demo_loan(price)
    return body


def demo_lock(plan: FinancingPlan, *, price_fen: int) -> dict[str, Any]:
    """A lock body: the demo's trim, colour and delivery centre, this plan (with its loan terms)."""
    body: dict[str, Any] = {
        "trim": "standard",
        "colour": "green",
        "delivery_centre": DEMO_DELIVERY_CENTRE,
        "financing_plan": plan.value,
        "commercial_insurance": True,
    }
    if plan.has_loan:
        body["loan"] = demo_loan(price_fen)
    return body


def demo_loan(price_fen: int) -> dict[str, int]:
    """Loan terms: 30% down, 36 months."""
    return {"down_payment_fen": price_fen * 30 // 100, "term_months": 36}


class DemoCustomer:
    """Talks to the starter API as the platform's backend does on the customer's behalf."""

    def __init__(self, settings: Settings, api_url: str, say: Callable[[str], None]) -> None:
        self.settings = settings
        self.say = say
        self.api = StarterClient(api_url, settings.api.backend_token)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.api.aclose()

    async def place(self, body: dict[str, Any]) -> str:
        """Place the order; the order id."""
        purchase = purchase_id(await self.api.place_order(body))
        self.say(f"order {body['order_id']} placed -> purchase {purchase}")
        return str(body["order_id"])

    async def status(self, order_id: str) -> PurchaseStatus:
        """The purchase's status."""
        return purchase_status(await self.api.status(order_id))

    async def action(self, order_id: str, path: CustomerAction, body: dict[str, Any]) -> dict[str, Any]:
        """Send a customer action; its answer."""
        response = await self.api.act(order_id, path, body)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        self.say(f"customer {path}: {answer['message']}")
        return answer

    async def card(self) -> str:
        """A card payment method, created the way the platform's front end would."""
        return await asyncio.to_thread(create_test_payment_method, self.settings.stripe, card_number=GOOD_CARD)

    async def buy(self, order_id: str, *, timeout_s: float = 300.0, switch_to_full: bool = True) -> PurchaseStatus:
        """Play the customer until the purchase ends; the final status.

        The customer uploads the documents a lender asks for and, if the loan is refused, switches to full payment
        (or, with switch_to_full=False, cancels).
        """
        seen_timeline = 0
        done: set[str] = set()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = await self.status(order_id)
            for entry in status.timeline[seen_timeline:]:
                self.say(f"  [{entry.stage.value:>15}] {entry.event}")
            seen_timeline = len(status.timeline)
            if status.stage in FINAL_STAGES:
                return status
            waits = " ".join(w.what for w in status.waiting_for)
            step = next(
                (
                    s
                    for s in ("deposit", "lock", "upload loan documents", "switch to full payment", "balance", "accept")
                    if s in waits and s not in done
                ),
                None,
            )
            if step == "deposit":
                await self.action(order_id, "deposit", {"payment_method": await self.card()})
            elif step == "lock":
                await self.action(order_id, "lock", demo_lock(status.financing_plan, price_fen=status.amounts.price))
            elif step == "upload loan documents":
                await self.action(order_id, "loan-documents", {"documents": ["proof_of_income"]})
            elif step == "switch to full payment" and switch_to_full:
                await self.action(order_id, "switch-to-full-payment", {})
            elif step == "switch to full payment":
                await self.action(order_id, "cancel", {"reason": "no loan, no car"})
            elif step == "balance":
                await self.action(order_id, "balance", {"payment_method": await self.card()})
            elif step == "accept":
                await self.action(order_id, "handover", {"accepted": True})
            if step:
                done.add(step)
            await asyncio.sleep(0.3)
        raise TimeoutError(f"purchase {order_id} did not end within {timeout_s}s")
