"""Activity inputs and results: payments (Stripe)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from carbuy.contract.activities.names import Keyed


class ChargeInput(Keyed):
    """Charge the customer through the payment processor."""

    kind: Literal["deposit", "balance"]
    amount_fen: int = Field(gt=0)
    payment_method: str
    description: str


class ChargeResult(BaseModel):
    """A succeeded charge."""

    payment_intent_id: str
    amount_fen: int
    status: str


class RefundInput(Keyed):
    """Refund (part of) a charge; never more than is still refundable."""

    kind: Literal["deposit", "balance"] = Field(description="which charge this refunds (names its ledger row)")
    payment_intent_id: str
    amount_fen: int = Field(gt=0)
    reason: str


class RefundResult(BaseModel):
    """A refund that was made (or had been made before under the same key)."""

    refund_id: str
    amount_fen: int
