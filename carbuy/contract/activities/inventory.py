"""Activity inputs and results: OEM inventory."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from carbuy.contract.activities.names import Keyed


class ReserveVehicleInput(Keyed):
    """Reserve a VIN for the model, trim and colour."""

    model: str
    trim: str
    colour: str
    mode: str
    callback_url: str = ""


class ReserveVehicleResult(BaseModel):
    """A reservation: a VIN now, or backordered (the VIN comes later by callback)."""

    reservation_id: str
    status: Literal["reserved", "backordered"]
    vin: str | None = None
    warehouse: str | None = None


class ReleaseVehicleInput(Keyed):
    """Give a reserved VIN back to the OEM."""

    reservation_id: str


class ReleaseVehicleResult(BaseModel):
    """Release done."""

    released: bool
