"""The OEM's inventory: VIN reservations, backordered when there is no stock, and releases."""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import BaseModel, Field

from carbuy.contract.events import PartnerEventType
from carbuy.contract.scenarios import Scenario
from sandbox.callbacks import CallbackDispatcher
from sandbox.deps import DispatcherDep, StateDep
from sandbox.errors import NOT_FOUND, POST_ERRORS
from sandbox.routing import IdempotencyKey
from sandbox.schemas import CallbackRequest, OrderRequest, partner_router
from sandbox.state import PartnerObject, new_id
from sandbox.vin import new_vin

WAREHOUSES = ("GAC-Panyu-WH1", "GAC-Huadu-WH2")

router = partner_router("inventory", "OEM vehicle inventory")


class ReservationCreate(CallbackRequest):
    """Reserve a vehicle of this configuration; an allocation callback follows if backordered."""

    model: str = Field(min_length=1)
    trim: str = Field(min_length=1)
    colour: str = Field(min_length=1)
    mode: str = Field(min_length=1)


class Reservation(PartnerObject):
    """A reservation as the OEM keeps it."""

    kind = "reservation"

    status: Literal["reserved", "backordered", "released"]
    model: str
    trim: str
    colour: str
    vin: str | None = None
    warehouse: str | None = None
    callback_url: str


class ReservationPublic(BaseModel):
    """A reservation as the OEM shows it."""

    reservation_id: str
    order_ref: str
    status: str
    vin: str | None
    warehouse: str | None


class Release(BaseModel):
    """A released reservation."""

    reservation_id: str
    released: bool


def _public(reservation: Reservation) -> ReservationPublic:
    return ReservationPublic(
        reservation_id=reservation.id, **reservation.model_dump(include={"order_ref", "status", "vin", "warehouse"})
    )


def _allocate(reservation: Reservation) -> None:
    reservation.status, reservation.vin, reservation.warehouse = "reserved", new_vin(), secrets.choice(WAREHOUSES)


@router.post("/reservations", status_code=201, summary="Reserve a VIN", responses=POST_ERRORS)
async def reserve(
    body: ReservationCreate, state: StateDep, dispatcher: DispatcherDep, _key: IdempotencyKey
) -> ReservationPublic:
    """Reserve a VIN at a warehouse now, or backorder it (inventory.allocated comes later)."""
    reservation = state.add(
        Reservation(
            id=new_id("res"),
            status="backordered",
            **body.model_dump(include={"order_ref", "model", "trim", "colour", "callback_url"}),
        )
    )
    if state.has(body.order_ref, Scenario.NO_STOCK):
        dispatcher.spawn(reservation.order_ref, _allocate_later(dispatcher, reservation))
    else:
        _allocate(reservation)
    return _public(reservation)


async def _allocate_later(dispatcher: CallbackDispatcher, reservation: Reservation) -> None:
    await dispatcher.pause()
    async with dispatcher.state.lock:
        if reservation.status != "backordered":
            return
        _allocate(reservation)
    await dispatcher.emit(
        url=reservation.callback_url,
        order_ref=reservation.order_ref,
        reference=reservation.id,
        type=PartnerEventType.VEHICLE_ALLOCATED,
        data={"vin": reservation.vin, "warehouse": reservation.warehouse},
    )


@router.get("/reservations/{reservation_id}", summary="Show a reservation", responses=NOT_FOUND)
async def show(reservation_id: str, state: StateDep) -> ReservationPublic:
    """The reservation, its VIN and warehouse once allocated."""
    return _public(state.get(Reservation, reservation_id))


@router.post(
    "/reservations/{reservation_id}/release", summary="Release a reservation", responses={**POST_ERRORS, **NOT_FOUND}
)
async def release(reservation_id: str, body: OrderRequest, state: StateDep, _key: IdempotencyKey) -> Release:
    """Give the VIN back to the OEM (a pending backorder is dropped)."""
    reservation = state.get(Reservation, reservation_id, order_ref=body.order_ref)
    reservation.status = "released"
    return Release(reservation_id=reservation.id, released=True)
