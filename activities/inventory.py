"""OEM inventory: reserve a VIN (or a backorder answered by callback) and release it."""

from __future__ import annotations

from temporalio import activity

from activities.base import PartnerActivities
from activities.partner_http import PartnerClient
from carbuy.contract.activities import (
    Activity,
    ReleaseVehicleInput,
    ReleaseVehicleResult,
    ReserveVehicleInput,
    ReserveVehicleResult,
)


class InventoryClient(PartnerClient):
    """The OEM's inventory API."""

    institution = "inventory"

    async def reserve(self, input: ReserveVehicleInput) -> ReserveVehicleResult:
        """Reserve a VIN for the configuration."""
        body = input.model_dump(include={"order_ref", "model", "trim", "colour", "mode"})
        answer = await self.post(
            "/reservations", key=input.key, body={**body, "callback_url": self.callback_url(input.callback_url)}
        )
        return ReserveVehicleResult.model_validate(answer)

    async def release(self, input: ReleaseVehicleInput) -> ReleaseVehicleResult:
        """Give the VIN back."""
        answer = await self.post(
            f"/reservations/{input.reservation_id}/release", key=input.key, body={"order_ref": input.order_ref}
        )
        return ReleaseVehicleResult.model_validate(answer)


class InventoryActivities(PartnerActivities[InventoryClient]):
    """Activities on the OEM's inventory."""

    client_class = InventoryClient

    @activity.defn(name=Activity.RESERVE_VEHICLE)
    async def reserve_vehicle(self, input: ReserveVehicleInput) -> ReserveVehicleResult:
        """Reserve a VIN now, or get a backorder whose allocation comes by callback."""
        result = await self.client.reserve(input)
        activity.logger.info(
            "inventory: order %s reservation %s is %s", input.order_ref, result.reservation_id, result.status
        )
        return result

    @activity.defn(name=Activity.RELEASE_VEHICLE)
    async def release_vehicle(self, input: ReleaseVehicleInput) -> ReleaseVehicleResult:
        """Release a reservation (undo of reserve)."""
        result = await self.client.release(input)
        activity.logger.info("inventory: order %s reservation %s released", input.order_ref, input.reservation_id)
        return result
