"""After-sales stores: first-service bookings, completed by callback at the due time."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from carbuy.contract.events import PartnerEventType
from sandbox.callbacks import CallbackDispatcher
from sandbox.deps import DispatcherDep, StateDep
from sandbox.errors import NOT_FOUND, POST_ERRORS
from sandbox.routing import IdempotencyKey
from sandbox.schemas import CallbackRequest, partner_router
from sandbox.state import PartnerObject, new_id

router = partner_router("stores", "after-sales stores")


class BookingCreate(CallbackRequest):
    """Book the first service near the customer."""

    vin: str = Field(min_length=1)
    city: str = Field(min_length=1)
    due_at: datetime


class Booking(PartnerObject):
    """A booking as the store network keeps it."""

    kind = "service_booking"

    status: Literal["booked", "completed"]
    store_id: str
    vin: str
    due_at: datetime
    callback_url: str


class BookingPublic(BaseModel):
    """A booking as the store network shows it."""

    booking_id: str
    order_ref: str
    store_id: str
    status: str
    due_at: datetime


def _public(booking: Booking) -> BookingPublic:
    return BookingPublic(
        booking_id=booking.id, **booking.model_dump(include={"order_ref", "store_id", "status", "due_at"})
    )


def store_near(city: str) -> str:
    """The store that serves a city (stable for a city)."""
    return f"store-{city.strip().lower()}-{int(hashlib.sha256(city.encode()).hexdigest(), 16) % 90 + 10}"


@router.post("/bookings", status_code=201, summary="Book a first service (done by callback)", responses=POST_ERRORS)
async def book(body: BookingCreate, state: StateDep, dispatcher: DispatcherDep, _key: IdempotencyKey) -> BookingPublic:
    """Book the service; service.completed comes back at due_at (or after the delay if it has passed)."""
    booking = state.add(
        Booking(
            id=new_id("bkg"),
            status="booked",
            store_id=store_near(body.city),
            **body.model_dump(include={"order_ref", "vin", "due_at", "callback_url"}),
        )
    )
    dispatcher.spawn(booking.order_ref, _serve(dispatcher, booking))
    return _public(booking)


async def _serve(dispatcher: CallbackDispatcher, booking: Booking) -> None:
    await dispatcher.pause_until(booking.due_at)
    async with dispatcher.state.lock:
        booking.status = "completed"
    await dispatcher.emit(
        url=booking.callback_url,
        order_ref=booking.order_ref,
        reference=booking.id,
        type=PartnerEventType.SERVICE_COMPLETED,
        data={"store_id": booking.store_id},
    )


@router.get("/bookings/{booking_id}", summary="Show a booking", responses=NOT_FOUND)
async def show(booking_id: str, state: StateDep) -> BookingPublic:
    """The booking and whether the service is done."""
    return _public(state.get(Booking, booking_id))
