"""Inventory activities against the real partner sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import ActivityEnvironment

from activities.inventory import InventoryActivities
from carbuy.contract.activities import ReleaseVehicleInput, ReserveVehicleInput
from carbuy.contract.events import PartnerEventType
from carbuy.runtime.settings import Settings
from sandbox.vin import check_digit
from tests.fixtures.sandbox import CallbackSink, SandboxControl


@pytest.fixture
async def inventory(sandbox_settings: Settings) -> AsyncIterator[InventoryActivities]:
    activities = InventoryActivities.from_settings(sandbox_settings)
    yield activities
    await activities.aclose()


def reserve_input(order_ref: str, key: str = "reserve") -> ReserveVehicleInput:
    return ReserveVehicleInput(
        key=f"{order_ref}-{key}",
        order_ref=order_ref,
        model="aion-ut-super",
        trim="standard",
        colour="green",
        mode="whole",
    )


async def test_reserving_a_vehicle_returns_a_valid_vin_at_a_warehouse(
    inventory: InventoryActivities, sandbox: SandboxControl
) -> None:
    result = await ActivityEnvironment().run(inventory.reserve_vehicle, reserve_input(sandbox.new_order_ref()))

    assert result.status == "reserved"
    assert result.vin is not None and len(result.vin) == 17 and result.vin[8] == check_digit(result.vin)
    assert result.warehouse


async def test_reserving_twice_under_one_key_returns_the_same_reservation_and_is_done_once(
    inventory: InventoryActivities, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()

    first = await env.run(inventory.reserve_vehicle, reserve_input(order_ref))
    again = await env.run(inventory.reserve_vehicle, reserve_input(order_ref))

    assert again == first
    view = await sandbox.inspect(order_ref)
    assert [(r["path"], r["replays"]) for r in view["requests"]] == [("/inventory/reservations", 1)]
    assert len(view["objects"]) == 1


async def test_without_stock_the_reservation_is_backordered_and_the_allocation_comes_by_callback(
    inventory: InventoryActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "no_stock")

    result = await ActivityEnvironment().run(inventory.reserve_vehicle, reserve_input(order_ref))

    assert (result.status, result.vin) == ("backordered", None)
    [allocated] = await callback_sink.wait_for(order_ref, count=1)
    assert allocated.type == PartnerEventType.VEHICLE_ALLOCATED
    assert allocated.institution == "inventory"
    assert allocated.reference == result.reservation_id
    assert isinstance(allocated.data["vin"], str) and allocated.data["warehouse"]


async def test_releasing_a_reservation_gives_the_vin_back(
    inventory: InventoryActivities, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()
    reserved = await env.run(inventory.reserve_vehicle, reserve_input(order_ref))

    released = await env.run(
        inventory.release_vehicle,
        ReleaseVehicleInput(key=f"{order_ref}-release", order_ref=order_ref, reservation_id=reserved.reservation_id),
    )

    assert released.released
    [reservation] = (await sandbox.inspect(order_ref))["objects"]
    assert reservation["status"] == "released"


async def test_releasing_a_backorder_drops_the_pending_allocation(
    inventory: InventoryActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "no_stock")
    env = ActivityEnvironment()
    reserved = await env.run(inventory.reserve_vehicle, reserve_input(order_ref))

    await env.run(
        inventory.release_vehicle,
        ReleaseVehicleInput(key=f"{order_ref}-release", order_ref=order_ref, reservation_id=reserved.reservation_id),
    )

    view = await sandbox.quiet(order_ref)
    assert (view["callbacks"], callback_sink.received(order_ref)) == ([], [])
