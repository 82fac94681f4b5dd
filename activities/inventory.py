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
        return await self.post_for("/reservations", input, ReserveVehicleResult)

    async def release(self, input: ReleaseVehicleInput) -> ReleaseVehicleResult:
        """Give the VIN back."""
        return await self.post_for(
            f"/reservations/{input.reservation_id}/release", input, ReleaseVehicleResult, {"order_ref": input.order_ref}
        )


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
