"""The insurer: compulsory and commercial policies bound on a VIN."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from carbuy.contract.scenarios import Scenario
from carbuy.domain.money import percent_of
from sandbox.deps import StateDep
from sandbox.errors import NOT_FOUND, POST_ERRORS, REFUSED, Refused
from sandbox.routing import IdempotencyKey
from sandbox.schemas import OrderRequest, partner_router
from sandbox.state import PartnerObject, new_id

COMPULSORY_PREMIUM_FEN = 95_000
COMMERCIAL_RATE_BP = 250

router = partner_router("insurer", "motor insurance")


class PolicyCreate(OrderRequest):
    """Bind a policy for a VIN."""

    vin: str = Field(min_length=1)
    holder_name: str = Field(min_length=1)
    holder_id_number: str = Field(min_length=1)
    vehicle_price_fen: int = Field(gt=0)
    commercial: bool


class Policy(PartnerObject):
    """A policy as the insurer keeps it."""

    kind = "policy"

    status: Literal["bound", "cancelled"]
    vin: str
    compulsory_premium_fen: int
    commercial_premium_fen: int
    refunded_premium_fen: int = 0


class PolicyPublic(BaseModel):
    """A policy as the insurer shows it."""

    policy_id: str
    order_ref: str
    status: str
    vin: str
    compulsory_premium_fen: int
    commercial_premium_fen: int


class PolicyCancellation(BaseModel):
    """A cancelled policy and the premium refunded by this cancellation."""

    policy_id: str
    cancelled: bool
    refunded_premium_fen: int


def _public(policy: Policy) -> PolicyPublic:
    return PolicyPublic(
        policy_id=policy.id,
        **policy.model_dump(include={"order_ref", "status", "vin", "compulsory_premium_fen", "commercial_premium_fen"}),
    )


@router.post("/policies", status_code=201, summary="Bind a policy", responses={**POST_ERRORS, **REFUSED})
async def bind(body: PolicyCreate, state: StateDep, _key: IdempotencyKey) -> PolicyPublic:
    """Bind the compulsory policy, and the commercial one when asked (250 bp of the price)."""
    if state.has(body.order_ref, Scenario.INSURER_REFUSES):
        raise Refused("underwriting_refused", "the insurer does not cover this vehicle for this holder")
    policy = state.add(
        Policy(
            id=new_id("pol"),
            order_ref=body.order_ref,
            status="bound",
            vin=body.vin,
            compulsory_premium_fen=COMPULSORY_PREMIUM_FEN,
            commercial_premium_fen=percent_of(body.vehicle_price_fen, COMMERCIAL_RATE_BP) if body.commercial else 0,
        )
    )
    return _public(policy)


@router.get("/policies/{policy_id}", summary="Show a policy", responses=NOT_FOUND)
async def show(policy_id: str, state: StateDep) -> PolicyPublic:
    """The policy and its premiums."""
    return _public(state.get(Policy, policy_id))


@router.post("/policies/{policy_id}/cancel", summary="Cancel a policy", responses={**POST_ERRORS, **NOT_FOUND})
async def cancel(policy_id: str, body: OrderRequest, state: StateDep, _key: IdempotencyKey) -> PolicyCancellation:
    """Cancel before it takes effect: the whole premium is refunded (once)."""
    policy = state.get(Policy, policy_id, order_ref=body.order_ref)
    refund = 0
    if policy.status == "bound":
        refund = policy.compulsory_premium_fen + policy.commercial_premium_fen
        policy.status, policy.refunded_premium_fen = "cancelled", refund
    return PolicyCancellation(policy_id=policy.id, cancelled=True, refunded_premium_fen=refund)
