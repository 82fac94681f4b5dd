"""Valid orders and purchase inputs for tests, changed by keyword where a test needs it."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from carbuy.contract.order import FinancingPlan, Order
from carbuy.contract.purchase import PurchaseInput
from carbuy.domain.catalogue import DEFAULT_CATALOGUE
from carbuy.domain.policy import PurchasePolicy
from starter.orders import prepare_purchase

ID_CARD = "11010519491231002X"
PRICE_WHOLE = 8_990_000
PRICE_BATTERY_LEASE = 4_990_000
_seq = itertools.count(1)


def order_body(plan: FinancingPlan = FinancingPlan.FULL, **changes: Any) -> dict[str, Any]:
    """The JSON body the backend would POST for an order with this plan."""
    battery = plan.has_battery_lease
    price = PRICE_BATTERY_LEASE if battery else PRICE_WHOLE
    body: dict[str, Any] = {
        "order_id": f"ORD-{plan.value}-{next(_seq):05d}",
        "customer": {
            "name": "Li Lei",
            "id_card_number": ID_CARD,
            "phone": "13800138000",
            "email": "li.lei@example.com",
        },
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
        body["loan"] = {"down_payment_fen": price * 30 // 100, "term_months": 36}
    body.update(changes)
    return body


def purchase_input(
    plan: FinancingPlan = FinancingPlan.FULL, policy: PurchasePolicy | None = None, **changes: Any
) -> PurchaseInput:
    """A priced purchase input for an order with this plan."""
    order = Order.model_validate(order_body(plan, **changes))
    return prepare_purchase(
        order,
        catalogue=DEFAULT_CATALOGUE,
        policy=policy or PurchasePolicy(),
        digest_key="test-digest-key",
        on=date(2026, 11, 26),
    )
