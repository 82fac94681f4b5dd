"""The carrier: book the move to the delivery centre (events by callback) and cancel or return it."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Engine
from temporalio import activity

from activities.base import PartnerActivities
from activities.ledger import record_money
from activities.partner_http import PartnerClient
from carbuy.contract.activities import (
    Activity,
    BookShipmentInput,
    BookShipmentResult,
    CancelShipmentInput,
    CancelShipmentResult,
)
from carbuy.runtime.settings import Settings
from carbuy.store.engines import acquire_engine
from carbuy.store.ledger import Counterparty, LedgerKind, LedgerStore


class CarrierClient(PartnerClient):
    """The carrier's API."""

    institution = "carrier"

    async def book(self, input: BookShipmentInput) -> BookShipmentResult:
        """Book a shipment."""
        return await self.post_for("/shipments", input, BookShipmentResult)

    async def cancel(self, input: CancelShipmentInput) -> CancelShipmentResult:
        """Cancel or return a shipment."""
        return await self.post_for(
            f"/shipments/{input.shipment_id}/cancel", input, CancelShipmentResult, {"order_ref": input.order_ref}
        )


class LogisticsActivities(PartnerActivities[CarrierClient]):
    """Activities on the carrier."""

    client_class = CarrierClient

    def __init__(self, client: CarrierClient, ledger: LedgerStore, *, owned_engine: Engine | None = None) -> None:
        super().__init__(client, owned_engine=owned_engine)
        self.ledger = ledger

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Built from the partner settings, writing the ledger through the process's shared engine."""
        engine = acquire_engine(settings.db)
        return cls(CarrierClient.from_settings(settings), LedgerStore(engine), owned_engine=engine)

    @activity.defn(name=Activity.BOOK_SHIPMENT)
    async def book_shipment(self, input: BookShipmentInput) -> BookShipmentResult:
        """Book the move; picked_up, in_transit, arrived and the PDI result come back by callback."""
        result = await self.client.book(input)
        activity.logger.info(
            "carrier: order %s shipment %s booked with %s", input.order_ref, result.shipment_id, result.carrier
        )
        return result

    @activity.defn(name=Activity.CANCEL_SHIPMENT)
    async def cancel_shipment(self, input: CancelShipmentInput) -> CancelShipmentResult:
        """Cancel or return the shipment (undo), with the carrier's fee."""
        result = await self.client.cancel(input)
        activity.logger.info(
            "carrier: order %s shipment %s cancelled, fee %d fen", input.order_ref, input.shipment_id, result.fee_fen
        )
        if result.fee_fen > 0:
            await record_money(
                self.ledger,
                input,
                kind=LedgerKind.SHIPMENT_CANCELLATION_FEE,
                amount_fen=result.fee_fen,
                counterparty=Counterparty.CARRIER,
                reference=input.shipment_id,
            )
        return result
