"""Activity inputs and results: carrier."""

from __future__ import annotations

from pydantic import BaseModel

from carbuy.contract.activities.names import Keyed


class BookShipmentInput(Keyed):
    """Move a VIN from its warehouse to the delivery centre; events come back by callback."""

    vin: str
    warehouse: str
    delivery_centre: str
    callback_url: str = ""


class BookShipmentResult(BaseModel):
    """A booked shipment."""

    shipment_id: str
    carrier: str


class CancelShipmentInput(Keyed):
    """Cancel or return a shipment; the carrier may charge a fee."""

    shipment_id: str


class CancelShipmentResult(BaseModel):
    """Cancellation done, with the carrier's fee."""

    cancelled: bool
    fee_fen: int = 0
