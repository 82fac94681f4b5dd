"""Activity inputs and results: battery operator."""

from __future__ import annotations

from pydantic import BaseModel

from carbuy.contract.activities.names import Keyed


class CreateBatteryContractInput(Keyed):
    """Sign a battery lease (rent starts at activation)."""

    customer_name: str
    model: str
    monthly_rent_fen: int


class BatteryContractResult(BaseModel):
    """A battery contract and its status."""

    contract_id: str
    status: str


class BatteryContractRef(Keyed):
    """Activate or cancel a battery contract."""

    contract_id: str
    vin: str | None = None
