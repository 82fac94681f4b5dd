"""The vehicle branch: reserve a VIN, ship it to the delivery centre, pass PDI; a car that fails is replaced."""

from __future__ import annotations

import itertools

from temporalio import workflow

from workflows.compensation import undo_now
from workflows.context import Purchase, PurchaseEnded
from workflows.patches import REALLOCATE
from workflows.waits import call_resendable

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import (
        Activity,
        BookShipmentInput,
        BookShipmentResult,
        ReserveVehicleInput,
        ReserveVehicleResult,
    )
    from carbuy.contract.events import PartnerEventType as E
    from carbuy.contract.purchase import Branch, PurchaseStage
    from carbuy.contract.undo import UndoKind


async def vehicle(p: Purchase) -> None:
    """Reserve a VIN, ship it to the delivery centre, pass PDI; a damaged car or a failed PDI is replaced by
    another VIN (the first goes back to the OEM), up to the policy's number of reallocations."""
    for attempt in itertools.count():
        suffix = "" if attempt == 0 else f"-{attempt + 1}"
        reservation_id = await _reserve(p, suffix)
        problem, shipment_id = await _ship(p, suffix)
        if problem is None:
            break
        if not workflow.patched(REALLOCATE):  # a purchase that started before reallocation existed
            raise PurchaseEnded(problem, partner_refused=True)
        # the carrier's job ended (damaged, or delivered and failed PDI): there is no shipment left to cancel
        p.saga.settle(UndoKind.CANCEL_SHIPMENT, shipment_id, f"shipment ended: {problem}")
        if attempt >= p.policy.max_reallocations:
            raise PurchaseEnded(f"{problem}; no sound car after {attempt + 1} VINs", partner_refused=True)
        await _reallocate(p, problem, reservation_id)
    p.tracker.branch_done(Branch.VEHICLE, "arrived, PDI passed")


async def _reserve(p: Purchase, suffix: str) -> str:
    """Reserve a VIN (waiting for the OEM if there is no stock); the reservation id."""
    order = p.order
    p.tracker.branch(Branch.VEHICLE, PurchaseStage.ALLOCATION, None if not suffix else "reallocating")
    reservation, resend_reservation = await call_resendable(
        Activity.RESERVE_VEHICLE,
        ReserveVehicleInput(
            key=p.key(f"allocation{suffix}"),
            order_ref=order.order_id,
            model=order.model,
            trim=p.vehicle.trim,
            colour=p.vehicle.colour,
            mode=order.mode.value,
        ),
        ReserveVehicleResult,
        summary=f"reserve {order.model}/{p.vehicle.trim}/{p.vehicle.colour}" + (" (another VIN)" if suffix else ""),
    )
    p.record(UndoKind.RELEASE_VEHICLE, reservation.reservation_id)
    vin, warehouse = reservation.vin, reservation.warehouse
    if reservation.status == "backordered":
        p.tracker.branch(Branch.VEHICLE, PurchaseStage.ALLOCATION, "no stock: waiting for the OEM")
        allocated = await p.waits.wait_event(
            "the OEM to allocate a VIN",
            reservation.reservation_id,
            [E.VEHICLE_ALLOCATED],
            p.policy.allocation_sla,
            resend=resend_reservation,
        )
        given_vin, given_warehouse = allocated.data.get("vin"), allocated.data.get("warehouse")
        if not isinstance(given_vin, str) or not given_vin or not isinstance(given_warehouse, str):
            raise PurchaseEnded(
                f"the OEM's allocation carried no VIN or warehouse: {allocated.data}", partner_refused=True
            )
        vin, warehouse = given_vin, given_warehouse
    p.vehicle.vin, p.vehicle.warehouse = vin, warehouse
    p.tracker.note(f"VIN {vin} reserved at {warehouse}")
    return reservation.reservation_id


async def _ship(p: Purchase, suffix: str) -> tuple[str | None, str]:
    """Ship the VIN and wait for arrival and PDI; what went wrong (None if it passed) and the shipment id."""
    p.tracker.branch(Branch.VEHICLE, PurchaseStage.LOGISTICS, "shipment booked")
    assert p.delivery_centre is not None and p.vehicle.vin is not None and p.vehicle.warehouse is not None
    shipment, resend_shipment = await call_resendable(
        Activity.BOOK_SHIPMENT,
        BookShipmentInput(
            key=p.key(f"shipment{suffix}"),
            order_ref=p.order.order_id,
            vin=p.vehicle.vin,
            warehouse=p.vehicle.warehouse,
            delivery_centre=p.delivery_centre,
        ),
        BookShipmentResult,
        summary=f"ship {p.vehicle.vin} to {p.delivery_centre}",
    )
    p.vehicle.shipment_id = shipment.shipment_id
    p.record(UndoKind.CANCEL_SHIPMENT, shipment.shipment_id)
    arrival = await p.waits.wait_event(
        "the car to arrive at the delivery centre",
        shipment.shipment_id,
        [E.SHIPMENT_ARRIVED, E.SHIPMENT_DAMAGED],
        p.policy.logistics_sla,
        resend=resend_shipment,
    )
    if arrival.type == E.SHIPMENT_DAMAGED:
        return f"vehicle damaged in transit: {arrival.data.get('reason')}", shipment.shipment_id
    p.tracker.note("arrived at the delivery centre")
    pdi = await p.waits.wait_event(
        "the pre-delivery inspection",
        shipment.shipment_id,
        [E.PDI_PASSED, E.PDI_FAILED],
        p.policy.logistics_sla,
        resend=resend_shipment,
    )
    if pdi.type == E.PDI_FAILED:
        return f"pre-delivery inspection failed: {pdi.data.get('reason')}", shipment.shipment_id
    return None, shipment.shipment_id


async def _reallocate(p: Purchase, problem: str, reservation_id: str) -> None:
    """The car cannot be delivered: it goes back to the OEM (its VIN released), another one is reserved."""
    p.vehicle.reallocations += 1
    p.tracker.note(f"{problem}: VIN {p.vehicle.vin} goes back to the OEM; reallocating ({p.vehicle.reallocations})")
    await undo_now(p, UndoKind.RELEASE_VEHICLE, reservation_id, f"returned to the OEM: {problem}")
    await p.notifier.notify("vehicle_reallocated", key=f"vehicle_reallocated-{p.vehicle.reallocations}", reason=problem)
    p.vehicle.vin = p.vehicle.warehouse = p.vehicle.shipment_id = None
    p.checkpoint()
