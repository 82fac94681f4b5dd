"""Turning a placed order into the purchase's input: catalogue checks, the frozen quote, the order digest."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

from carbuy.contract.order import Order
from carbuy.contract.purchase import PurchaseInput
from carbuy.domain.catalogue import Catalogue
from carbuy.domain.policy import PurchasePolicy
from carbuy.domain.pricing import PricingError, quote, vehicle_price_fen


class OrderRejected(ValueError):
    """An order that is well formed but cannot be sold; errors name their fields, like pydantic's."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


def order_digest(order: Order, key: str) -> str:
    """A keyed hash of the order body: tells a repeated order from a different one under the same id."""
    body = order.model_dump_json().encode()
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def prepare_purchase(
    order: Order, *, catalogue: Catalogue, policy: PurchasePolicy, digest_key: str, on: date
) -> PurchaseInput:
    """Check the order against the catalogue and price it; OrderRejected lists every problem."""
    errors: list[tuple[str, str]] = []
    model = catalogue.get(order.model)
    if model is None:
        known = ", ".join(m.model_id for m in catalogue.models)
        raise OrderRejected([("model", f"unknown model {order.model!r}; on sale: {known}")])
    if order.trim not in model.trims:
        errors.append(("trim", f"unknown trim {order.trim!r}; {model.model_id} comes in {', '.join(model.trims)}"))
    if order.colour not in model.colours:
        errors.append(("colour", f"unknown colour {order.colour!r}; choose one of {', '.join(model.colours)}"))
    try:
        q = quote(
            model,
            battery_leased=order.financing_plan.has_battery_lease,
            commercial_insurance=order.commercial_insurance,
            down_payment_fen=order.loan.down_payment_fen if order.loan else None,
            policy=policy,
            on=on,
        )
    except PricingError as err:
        errors.append((err.field, str(err)))
        q = None
    try:
        price = vehicle_price_fen(model, battery_leased=order.financing_plan.has_battery_lease)
        if order.price_fen != price:
            errors.append(("price_fen", f"the price is {price} fen, not {order.price_fen}"))
    except PricingError:
        pass
    if errors or q is None:
        raise OrderRejected(errors)
    return PurchaseInput(
        order=order,
        quote=q,
        policy=policy,
        order_digest=order_digest(order, digest_key),
        trims=model.trims,
        colours=model.colours,
    )
