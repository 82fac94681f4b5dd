"""The vehicle registry: plate registrations answered by callback (a plate, or a rejection with a reason)."""

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
from sandbox.schemas import CallbackRequest, partner_router
from sandbox.state import PartnerObject, new_id

PLATE_PREFIX = {"guangzhou": "粤A", "shenzhen": "粤B", "beijing": "京A", "shanghai": "沪A", "hangzhou": "浙A"}
DEFAULT_PLATE_PREFIX = "粤A"
NEV_PLATE_MARK = "D"
REJECTION_REASON = "name mismatch"

router = partner_router("registry", "vehicle registration (plates)")


class RegistrationCreate(CallbackRequest):
    """A plate registration with its documents."""

    vin: str = Field(min_length=1)
    owner_name: str = Field(min_length=1)
    owner_id_number: str = Field(min_length=1)
    city: str = Field(min_length=1)
    policy_id: str = Field(min_length=1, description="the compulsory insurance policy in force")
    purchase_tax_fen: int = Field(ge=0)
    invoice_number: str = Field(min_length=1)


class Registration(PartnerObject):
    """A registration application as the registry keeps it."""

    kind = "registration"

    status: Literal["submitted", "plate_issued", "rejected"]
    vin: str
    city: str
    plate: str | None = None
    rejection_reason: str | None = None
    callback_url: str


class RegistrationPublic(BaseModel):
    """A registration application as the registry shows it."""

    application_id: str
    order_ref: str
    status: str
    plate: str | None
    rejection_reason: str | None


def _public(registration: Registration) -> RegistrationPublic:
    return RegistrationPublic(
        application_id=registration.id,
        **registration.model_dump(include={"order_ref", "status", "plate", "rejection_reason"}),
    )


def new_plate(city: str) -> str:
    """A new-energy plate of the city, e.g. 粤AD12345."""
    serial = "".join(secrets.choice("0123456789") for _ in range(5))
    return f"{PLATE_PREFIX.get(city.strip().lower(), DEFAULT_PLATE_PREFIX)}{NEV_PLATE_MARK}{serial}"


@router.post(
    "/applications", status_code=201, summary="Submit a registration (plate by callback)", responses=POST_ERRORS
)
async def submit(
    body: RegistrationCreate, state: StateDep, dispatcher: DispatcherDep, _key: IdempotencyKey
) -> RegistrationPublic:
    """File the registration; registration.plate_issued or registration.rejected comes back later."""
    reject = not state.of_order(Registration, body.order_ref) and state.has(
        body.order_ref, Scenario.REGISTRATION_REJECTED
    )
    registration = state.add(
        Registration(
            id=new_id("reg"),
            status="submitted",
            **body.model_dump(include={"order_ref", "vin", "city", "callback_url"}),
        )
    )
    dispatcher.spawn(registration.order_ref, _decide(dispatcher, registration, reject=reject))
    return _public(registration)


async def _decide(dispatcher: CallbackDispatcher, registration: Registration, *, reject: bool) -> None:
    await dispatcher.pause()
    async with dispatcher.state.lock:
        if reject:
            registration.status, registration.rejection_reason = "rejected", REJECTION_REASON
        else:
            registration.status, registration.plate = "plate_issued", new_plate(registration.city)
    if reject:
        await dispatcher.emit(
            url=registration.callback_url,
            order_ref=registration.order_ref,
            reference=registration.id,
            type=PartnerEventType.REGISTRATION_REJECTED,
            data={"reason": REJECTION_REASON},
        )
    else:
        await dispatcher.emit(
            url=registration.callback_url,
            order_ref=registration.order_ref,
            reference=registration.id,
            type=PartnerEventType.PLATE_ISSUED,
            data={"plate": registration.plate},
        )


@router.get("/applications/{application_id}", summary="Show a registration", responses=NOT_FOUND)
async def show(application_id: str, state: StateDep) -> RegistrationPublic:
    """The registration and its plate once issued."""
    return _public(state.get(Registration, application_id))
