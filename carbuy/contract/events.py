"""Partner callback event types, as the starter's webhook receives them and the workflow consumes them."""

from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args

from pydantic import BaseModel, Field, model_validator

from carbuy.contract.institutions import INSTITUTION_OF_SENDER, SENDER_OF_PREFIX


class PartnerEventType(StrEnum):
    """Every asynchronous answer a partner sends back."""

    VEHICLE_ALLOCATED = "inventory.allocated"
    LOAN_APPROVED = "loan.approved"
    LOAN_DENIED = "loan.denied"
    LOAN_DOCUMENTS_REQUIRED = "loan.documents_required"
    SHIPMENT_PICKED_UP = "shipment.picked_up"
    SHIPMENT_IN_TRANSIT = "shipment.in_transit"
    SHIPMENT_ARRIVED = "shipment.arrived"
    SHIPMENT_DAMAGED = "shipment.damaged"
    PDI_PASSED = "pdi.passed"
    PDI_FAILED = "pdi.failed"
    PLATE_ISSUED = "registration.plate_issued"
    REGISTRATION_REJECTED = "registration.rejected"
    SERVICE_COMPLETED = "service.completed"


INSTITUTION_OF: dict[PartnerEventType, str] = {t: SENDER_OF_PREFIX[t.value.split(".", 1)[0]] for t in PartnerEventType}
"""Which sender may send each event type (carbuy/contract/institutions.py; an unknown prefix fails at import)."""

Sender = Literal["lender", "inventory", "carrier", "delivery_centre", "registry", "store"]
"""The senders of callbacks, in the webhook schema's order (the registry declares them; checked below)."""
if set(get_args(Sender)) != set(INSTITUTION_OF_SENDER):
    raise ImportError(
        f"PartnerEvent's senders {get_args(Sender)} differ from the registry's {set(INSTITUTION_OF_SENDER)}"
    )


class PartnerEvent(BaseModel):
    """An asynchronous answer from a partner, delivered by the starter's webhook as a signal."""

    event_id: str = Field(min_length=1, max_length=128)
    institution: Sender
    type: str = Field(min_length=1, max_length=64, description="e.g. loan.approved, shipment.arrived")
    reference: str = Field(description="the partner's reference of the request this answers")
    occurred_at: datetime
    data: dict[str, str | int | bool | None] = Field(default_factory=dict)


class PartnerCallback(PartnerEvent):
    """The body a partner POSTs to the starter's webhook: an event about one order, signed."""

    order_ref: str = Field(min_length=1, max_length=64)

    @model_validator(mode="after")
    def _type_belongs_to_institution(self) -> "PartnerCallback":
        try:
            kind = PartnerEventType(self.type)
        except ValueError:
            raise ValueError(f"unknown event type {self.type!r}") from None
        if INSTITUTION_OF[kind] != self.institution:
            raise ValueError(f"{self.institution} cannot send {self.type}")
        return self

    def event(self) -> PartnerEvent:
        """The event without the routing field, as the workflow receives it."""
        return PartnerEvent.model_validate(self.model_dump(exclude={"order_ref"}))


class ProcessorEvent(BaseModel):
    """An event from the payment processor (Stripe webhook) about a purchase's payment, delivered as a signal."""

    event_id: str = Field(min_length=1, max_length=255, description="the processor's event id (evt_…)")
    type: str = Field(min_length=1, max_length=100, description="e.g. payment_intent.succeeded, charge.refunded")
    object_id: str = Field(description="the object the event is about (pi_…, ch_…)")
    amount_fen: int | None = Field(default=None, description="the object's amount, when it has one")
    occurred_at: datetime
