"""The carrier: book the move to the delivery centre (events by callback) and cancel or return it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from temporalio import activity

from activities.partner_http import PartnerClient
from carbuy.contract.activities import (
    Activity,
    BookShipmentInput,
    BookShipmentResult,
    CancelShipmentInput,
    CancelShipmentResult,
)
from carbuy.settings import Settings


class CarrierClient(PartnerClient):
    """The carrier's API."""

    institution = "carrier"

    async def book(self, input: BookShipmentInput) -> BookShipmentResult:
        """Book a shipment."""
        body = input.model_dump(exclude={"key", "callback_url"})
        answer = await self.post("/shipments", key=input.key,
                                 body={**body, "callback_url": self.callback_url(input.callback_url)})
        return BookShipmentResult.model_validate(answer)

    async def cancel(self, input: CancelShipmentInput) -> CancelShipmentResult:
        """Cancel or return a shipment."""
        answer = await self.post(f"/shipments/{input.shipment_id}/cancel", key=input.key,
                                 body={"order_ref": input.order_ref})
        return CancelShipmentResult.model_validate(answer)


class LogisticsActivities:
    """Activities on the carrier."""

    def __init__(self, client: CarrierClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Built from the partner settings."""
        return cls(CarrierClient.from_settings(settings))

    def all(self) -> list[Callable[..., Any]]:
        """The bound activities to register."""
        return [self.book_shipment, self.cancel_shipment]

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()

    @activity.defn(name=Activity.BOOK_SHIPMENT)
    async def book_shipment(self, input: BookShipmentInput) -> BookShipmentResult:
        """Book the move; picked_up, in_transit, arrived and the PDI result come back by callback."""
        result = await self.client.book(input)
        activity.logger.info("carrier: order %s shipment %s booked with %s", input.order_ref, result.shipment_id,
                             result.carrier)
        return result

    @activity.defn(name=Activity.CANCEL_SHIPMENT)
    async def cancel_shipment(self, input: CancelShipmentInput) -> CancelShipmentResult:
        """Cancel or return the shipment (undo), with the carrier's fee."""
        result = await self.client.cancel(input)
        activity.logger.info("carrier: order %s shipment %s cancelled, fee %d fen", input.order_ref,
                             input.shipment_id, result.fee_fen)
        return result
