"""The battery operator: sign, activate (at handover) and cancel a battery lease."""

from __future__ import annotations

from temporalio import activity

from activities.base import PartnerActivities
from activities.partner_http import PartnerClient
from carbuy.contract.activities import (
    Activity,
    BatteryContractRef,
    BatteryContractResult,
    CreateBatteryContractInput,
)


class BatteryClient(PartnerClient):
    """The battery operator's API."""

    institution = "battery"

    async def create(self, input: CreateBatteryContractInput) -> BatteryContractResult:
        """Sign a lease."""
        return await self.post_for("/contracts", input, BatteryContractResult)

    async def activate(self, input: BatteryContractRef) -> BatteryContractResult:
        """Start the lease on the VIN."""
        return await self.post_for(
            f"/contracts/{input.contract_id}/activate",
            input,
            BatteryContractResult,
            {"order_ref": input.order_ref, "vin": input.vin},
        )

    async def cancel(self, input: BatteryContractRef) -> BatteryContractResult:
        """Cancel the lease."""
        return await self.post_for(
            f"/contracts/{input.contract_id}/cancel", input, BatteryContractResult, {"order_ref": input.order_ref}
        )


class BatteryActivities(PartnerActivities[BatteryClient]):
    """Activities on the battery operator."""

    client_class = BatteryClient

    @activity.defn(name=Activity.CREATE_BATTERY_CONTRACT)
    async def create_battery_contract(self, input: CreateBatteryContractInput) -> BatteryContractResult:
        """Sign the battery lease (rent starts at activation)."""
        result = await self.client.create(input)
        activity.logger.info("battery: order %s contract %s %s", input.order_ref, result.contract_id, result.status)
        return result

    @activity.defn(name=Activity.ACTIVATE_BATTERY_CONTRACT)
    async def activate_battery_contract(self, input: BatteryContractRef) -> BatteryContractResult:
        """Start the lease at handover."""
        result = await self.client.activate(input)
        activity.logger.info("battery: order %s contract %s %s", input.order_ref, result.contract_id, result.status)
        return result

    @activity.defn(name=Activity.CANCEL_BATTERY_CONTRACT)
    async def cancel_battery_contract(self, input: BatteryContractRef) -> BatteryContractResult:
        """Cancel the lease (undo)."""
        result = await self.client.cancel(input)
        activity.logger.info("battery: order %s contract %s %s", input.order_ref, result.contract_id, result.status)
        return result
