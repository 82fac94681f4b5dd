"""Activity inputs and results: insurer."""

from __future__ import annotations

from pydantic import BaseModel

from carbuy.contract.activities.names import Keyed


class BindPolicyInput(Keyed):
    """Bind the compulsory (and optionally commercial) policy for a VIN, effective from handover."""

    vin: str
    holder_name: str
    holder_id_number: str
    vehicle_price_fen: int
    commercial: bool


class BindPolicyResult(BaseModel):
    """A bound policy with its premiums."""

    policy_id: str
    compulsory_premium_fen: int
    commercial_premium_fen: int

    @property
    def total_premium_fen(self) -> int:
        """Both premiums."""
        return self.compulsory_premium_fen + self.commercial_premium_fen


class CancelPolicyInput(Keyed):
    """Cancel a policy (full premium refund before it takes effect)."""

    policy_id: str


class CancelPolicyResult(BaseModel):
    """Cancellation done."""

    cancelled: bool
    refunded_premium_fen: int = 0
