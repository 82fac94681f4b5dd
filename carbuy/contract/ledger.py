"""Inputs and results of the ledger activities: the money facts the workflow records for finance."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from carbuy.contract.activities import Keyed


class RecordCancellationFeeInput(Keyed):
    """The part of the deposit kept as the cancellation fee (the refund paid back the rest)."""

    payment_intent_id: str = Field(description="the deposit's payment intent")
    amount_fen: int = Field(gt=0)


class RecordCancellationFeeResult(BaseModel):
    """The ledger row (the first one, when the activity is retried)."""

    entry_id: int
    amount_fen: int


class RecordPurchaseOutcomeInput(Keyed):
    """How the purchase ended, with its money as the purchase last knew it (fen); written once per purchase."""

    state: Literal["completed", "cancelled", "failed"]
    locked: bool
    fee_waived: bool = Field(description="a partner's refusal ended it: no fee kept")
    handed_over: bool
    deposit_fen: int = Field(ge=0, description="deposit actually paid (0 if never paid)")
    cancellation_fee_fen: int = Field(ge=0, description="the policy's fee kept after lock")
    price_fen: int = Field(ge=0)
    premium_fen: int = Field(ge=0)
    purchase_tax_fen: int = Field(ge=0)
    plate_fee_fen: int = Field(ge=0)
    loan_principal_fen: int = Field(ge=0, description="principal disbursed (0 without a loan)")
    balance_due_fen: int = Field(ge=0)
    ended_at: datetime


class RecordPurchaseOutcomeResult(BaseModel):
    """The stored outcome (the first one, when the activity is retried)."""

    outcome_id: int
    state: str
