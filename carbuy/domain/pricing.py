"""The quote of an order and the balance the customer pays: pure functions of plain values."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict

from carbuy.domain.catalogue import CatalogueModel
from carbuy.domain.money import percent_of, purchase_tax_fen
from carbuy.domain.policy import PurchasePolicy


class Quote(BaseModel):
    """What an order costs, frozen when it is placed (fen)."""

    model_config = ConfigDict(frozen=True)

    price_fen: int
    deposit_fen: int
    compulsory_premium_fen: int
    commercial_premium_fen: int
    purchase_tax_fen: int
    plate_fee_fen: int
    loan_principal_fen: int
    battery_monthly_rent_fen: int

    @property
    def premium_fen(self) -> int:
        """Both insurance premiums."""
        return self.compulsory_premium_fen + self.commercial_premium_fen


class PricingError(ValueError):
    """An order whose money does not add up; the message names the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def vehicle_price_fen(model: CatalogueModel, *, battery_leased: bool) -> int:
    """The fixed online price: whole vehicle, or without the battery when it is leased."""
    if not battery_leased:
        return model.price_whole_fen
    if model.price_battery_lease_fen is None:
        raise PricingError("mode", f"{model.model_id} is not sold with a leased battery")
    return model.price_battery_lease_fen


def loan_principal_fen(price_fen: int, down_payment_fen: int, min_down_payment_bp: int) -> int:
    """What the lender finances: the price less the down payment, which must be at least the minimum share."""
    minimum = percent_of(price_fen, min_down_payment_bp)
    if down_payment_fen < minimum:
        raise PricingError("loan.down_payment_fen", f"down payment must be at least {minimum} fen")
    if down_payment_fen >= price_fen:
        raise PricingError("loan.down_payment_fen", "down payment must be below the price (else choose full)")
    return price_fen - down_payment_fen


def quote(
    model: CatalogueModel,
    *,
    battery_leased: bool,
    commercial_insurance: bool,
    down_payment_fen: int | None,
    policy: PurchasePolicy,
    on: date,
) -> Quote:
    """Price, premiums, tax, fees and principal of an order placed on a given day."""
    price = vehicle_price_fen(model, battery_leased=battery_leased)
    principal = (
        0 if down_payment_fen is None else loan_principal_fen(price, down_payment_fen, policy.min_down_payment_bp)
    )
    return Quote(
        price_fen=price,
        deposit_fen=policy.deposit_fen,
        compulsory_premium_fen=policy.compulsory_premium_fen,
        commercial_premium_fen=percent_of(price, model.commercial_premium_rate_bp) if commercial_insurance else 0,
        purchase_tax_fen=purchase_tax_fen(price, on),
        plate_fee_fen=policy.plate_fee_fen,
        loan_principal_fen=principal,
        battery_monthly_rent_fen=(model.battery_monthly_rent_fen or 0) if battery_leased else 0,
    )


def balance_due_fen(q: Quote, *, premium_fen: int, loan_principal_fen: int) -> int:
    """Price + premiums + purchase tax + plate fee - deposit - loan principal (never below zero)."""
    return max(q.price_fen + premium_fen + q.purchase_tax_fen + q.plate_fee_fen - q.deposit_fen - loan_principal_fen, 0)


def cancellation_refund_fen(*, deposit_paid_fen: int, locked: bool, partner_refused: bool, fee_fen: int) -> int:
    """Deposit refunded on cancellation: all before lock or after a partner's refusal, less the fee otherwise."""
    if not locked or partner_refused:
        return deposit_paid_fen
    return max(deposit_paid_fen - fee_fen, 0)
