"""What each counterparty should net from a purchase that has ended: the figures reconciliation checks against."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from carbuy.domain.pricing import Quote, balance_due_fen, cancellation_refund_fen


class OutcomeFacts(BaseModel):
    """How a purchase ended, with its money as the purchase last knew it (fen)."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    state: Literal["completed", "cancelled", "failed"]
    locked: bool
    fee_waived: bool = Field(description="a partner's refusal ended it: the customer owes no fee")
    handed_over: bool
    deposit_fen: int = Field(ge=0, description="deposit actually paid")
    cancellation_fee_fen: int = Field(ge=0)
    price_fen: int = Field(ge=0)
    premium_fen: int = Field(ge=0)
    purchase_tax_fen: int = Field(ge=0)
    plate_fee_fen: int = Field(ge=0)
    loan_principal_fen: int = Field(ge=0)


class ExpectedNets(BaseModel):
    """The nets the ledger should show for one purchase: kept from the customer, and borrowed from the lender."""

    model_config = ConfigDict(frozen=True)

    processor_fen: int
    lender_fen: int


def expected_nets(facts: OutcomeFacts) -> ExpectedNets:
    """Completed (or handed over, which is never undone): deposit + balance and the principal; else the fee kept."""
    if facts.state == "completed" or facts.handed_over:
        quote = Quote(
            price_fen=facts.price_fen,
            deposit_fen=facts.deposit_fen,
            compulsory_premium_fen=facts.premium_fen,
            commercial_premium_fen=0,
            purchase_tax_fen=facts.purchase_tax_fen,
            plate_fee_fen=facts.plate_fee_fen,
            loan_principal_fen=facts.loan_principal_fen,
            battery_monthly_rent_fen=0,
        )
        balance = balance_due_fen(quote, premium_fen=facts.premium_fen, loan_principal_fen=facts.loan_principal_fen)
        return ExpectedNets(processor_fen=facts.deposit_fen + balance, lender_fen=facts.loan_principal_fen)
    refunded = cancellation_refund_fen(
        deposit_paid_fen=facts.deposit_fen,
        locked=facts.locked,
        partner_refused=facts.fee_waived,
        fee_fen=facts.cancellation_fee_fen,
    )
    return ExpectedNets(processor_fen=facts.deposit_fen - refunded, lender_fen=0)
