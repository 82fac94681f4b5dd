"""The battery operator: battery lease contracts, activated at handover."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from carbuy.contract.scenarios import Scenario
from sandbox.deps import StateDep
from sandbox.errors import NOT_FOUND, POST_ERRORS, REFUSED, Refused
from sandbox.routing import IdempotencyKey
from sandbox.schemas import OrderRequest, partner_router
from sandbox.state import PartnerObject, new_id

router = partner_router("battery", "battery leases")


class ContractCreate(OrderRequest):
    """A battery lease to sign."""

    customer_name: str = Field(min_length=1)
    model: str = Field(min_length=1)
    monthly_rent_fen: int = Field(gt=0)


class ContractActivation(OrderRequest):
    """Start the lease on a VIN."""

    vin: str | None = None


class BatteryContract(PartnerObject):
    """A battery lease as the operator keeps it."""

    kind = "battery_contract"

    status: Literal["signed", "active", "cancelled"]
    model: str
    monthly_rent_fen: int
    vin: str | None = None


class ContractPublic(BaseModel):
    """A battery lease as the operator shows it."""

    contract_id: str
    order_ref: str
    status: str
    monthly_rent_fen: int
    vin: str | None


def _public(contract: BatteryContract) -> ContractPublic:
    return ContractPublic(
        contract_id=contract.id, **contract.model_dump(include={"order_ref", "status", "monthly_rent_fen", "vin"})
    )


@router.post("/contracts", status_code=201, summary="Sign a battery lease", responses={**POST_ERRORS, **REFUSED})
async def create(body: ContractCreate, state: StateDep, _key: IdempotencyKey) -> ContractPublic:
    """Sign a lease; rent starts at activation."""
    if state.has(body.order_ref, Scenario.BATTERY_REFUSED):
        raise Refused("battery_lease_refused", "the operator does not lease a battery to this customer")
    contract = state.add(
        BatteryContract(
            id=new_id("bat"),
            order_ref=body.order_ref,
            status="signed",
            model=body.model,
            monthly_rent_fen=body.monthly_rent_fen,
        )
    )
    return _public(contract)


@router.get("/contracts/{contract_id}", summary="Show a battery lease", responses=NOT_FOUND)
async def show(contract_id: str, state: StateDep) -> ContractPublic:
    """The lease and its status."""
    return _public(state.get(BatteryContract, contract_id))


@router.post(
    "/contracts/{contract_id}/activate",
    summary="Start a battery lease",
    responses={**POST_ERRORS, **NOT_FOUND, **REFUSED},
)
async def activate(contract_id: str, body: ContractActivation, state: StateDep, _key: IdempotencyKey) -> ContractPublic:
    """Start the lease (at handover)."""
    contract = state.get(BatteryContract, contract_id, order_ref=body.order_ref)
    if contract.status == "cancelled":
        raise Refused("contract_cancelled", "a cancelled lease cannot start")
    contract.status, contract.vin = "active", body.vin or contract.vin
    return _public(contract)


@router.post(
    "/contracts/{contract_id}/cancel", summary="Cancel a battery lease", responses={**POST_ERRORS, **NOT_FOUND}
)
async def cancel(contract_id: str, body: OrderRequest, state: StateDep, _key: IdempotencyKey) -> ContractPublic:
    """Cancel the lease (nothing is owed before activation)."""
    contract = state.get(BatteryContract, contract_id, order_ref=body.order_ref)
    contract.status = "cancelled"
    return _public(contract)
