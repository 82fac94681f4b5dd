"""The carrier (and the delivery centre's PDI): shipments reported by callbacks, cancellable for a fee."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from carbuy.contract.events import PartnerEventType as Event
from carbuy.contract.scenarios import Scenario
from sandbox.callbacks import CallbackDispatcher
from sandbox.deps import DispatcherDep, StateDep
from sandbox.errors import NOT_FOUND, POST_ERRORS
from sandbox.routing import IdempotencyKey
from sandbox.schemas import CallbackRequest, OrderRequest, partner_router
from sandbox.state import PartnerObject, new_id

CARRIER_NAME = "JD Logistics"
CANCEL_FEE_AFTER_PICKUP_FEN = 20_000
VIDEO_BASE = "https://video.carrier.example/shipments"
Status = Literal["booked", "picked_up", "in_transit", "arrived", "damaged", "pdi_passed", "pdi_failed", "cancelled"]

router = partner_router("carrier", "vehicle transport and delivery-centre PDI")


class ShipmentCreate(CallbackRequest):
    """Move a VIN from a warehouse to a delivery centre."""

    vin: str = Field(min_length=1)
    warehouse: str = Field(min_length=1)
    delivery_centre: str = Field(min_length=1)


class Shipment(PartnerObject):
    """A shipment as the carrier keeps it."""

    kind = "shipment"

    status: Status
    fate: Literal["delivered", "damaged", "pdi_failed"]
    vin: str
    warehouse: str
    delivery_centre: str
    fee_fen: int = 0
    callback_url: str


class ShipmentPublic(BaseModel):
    """A shipment as the carrier shows it."""

    shipment_id: str
    order_ref: str
    carrier: str
    status: str
    vin: str


class ShipmentCancellation(BaseModel):
    """A cancelled (or returned) shipment and the fee this cancellation costs."""

    shipment_id: str
    cancelled: bool
    fee_fen: int


def _public(shipment: Shipment) -> ShipmentPublic:
    return ShipmentPublic(
        shipment_id=shipment.id, carrier=CARRIER_NAME, **shipment.model_dump(include={"order_ref", "status", "vin"})
    )


@router.post("/shipments", status_code=201, summary="Book a shipment (events by callback)", responses=POST_ERRORS)
async def book(
    body: ShipmentCreate, state: StateDep, dispatcher: DispatcherDep, _key: IdempotencyKey
) -> ShipmentPublic:
    """Book the move; picked_up, in_transit, arrived (or damaged), then pdi.passed or pdi.failed follow."""
    first = not state.of_order(Shipment, body.order_ref)
    fate: Literal["delivered", "damaged", "pdi_failed"] = "delivered"
    if first and state.has(body.order_ref, Scenario.DAMAGED_IN_TRANSIT):
        fate = "damaged"
    elif first and state.has(body.order_ref, Scenario.PDI_FAILED):
        fate = "pdi_failed"
    shipment = state.add(
        Shipment(
            id=new_id("shp"),
            status="booked",
            fate=fate,
            **body.model_dump(include={"order_ref", "vin", "warehouse", "delivery_centre", "callback_url"}),
        )
    )
    dispatcher.spawn(shipment.order_ref, _run(dispatcher, shipment))
    return _public(shipment)


def _steps(s: Shipment) -> list[tuple[Status, Event, dict[str, str | int | bool | None]]]:
    steps: list[tuple[Status, Event, dict[str, str | int | bool | None]]] = [
        ("picked_up", Event.SHIPMENT_PICKED_UP, {"location": s.warehouse}),
        (
            "in_transit",
            Event.SHIPMENT_IN_TRANSIT,
            {"location": "G4 Beijing-Hong Kong-Macau expressway", "video_url": f"{VIDEO_BASE}/{s.id}/1.mp4"},
        ),
    ]
    if s.fate == "damaged":
        return [
            *steps,
            (
                "damaged",
                Event.SHIPMENT_DAMAGED,
                {"location": "G4 Beijing-Hong Kong-Macau expressway", "reason": "dented front door"},
            ),
        ]
    steps.append(("arrived", Event.SHIPMENT_ARRIVED, {"location": s.delivery_centre}))
    if s.fate == "pdi_failed":
        return [*steps, ("pdi_failed", Event.PDI_FAILED, {"reason": "paint defect on the bonnet"})]
    return [*steps, ("pdi_passed", Event.PDI_PASSED, {"delivery_centre": s.delivery_centre})]


async def _run(dispatcher: CallbackDispatcher, shipment: Shipment) -> None:
    for status, event, data in _steps(shipment):
        await dispatcher.pause()
        async with dispatcher.state.lock:
            if shipment.status == "cancelled":
                return
            shipment.status = status
        await dispatcher.emit(
            url=shipment.callback_url, order_ref=shipment.order_ref, reference=shipment.id, type=event, data=data
        )


@router.get("/shipments/{shipment_id}", summary="Show a shipment", responses=NOT_FOUND)
async def show(shipment_id: str, state: StateDep) -> ShipmentPublic:
    """The shipment and where it is."""
    return _public(state.get(Shipment, shipment_id))


@router.post(
    "/shipments/{shipment_id}/cancel", summary="Cancel or return a shipment", responses={**POST_ERRORS, **NOT_FOUND}
)
async def cancel(shipment_id: str, body: OrderRequest, state: StateDep, _key: IdempotencyKey) -> ShipmentCancellation:
    """Cancel before pick-up for free; after pick-up the carrier charges a fee (once)."""
    shipment = state.get(Shipment, shipment_id, order_ref=body.order_ref)
    fee = 0
    if shipment.status != "cancelled":
        fee = 0 if shipment.status == "booked" else CANCEL_FEE_AFTER_PICKUP_FEN
        shipment.status, shipment.fee_fen = "cancelled", fee
    return ShipmentCancellation(shipment_id=shipment.id, cancelled=True, fee_fen=fee)
