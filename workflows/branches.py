"""After lock, three branches run side by side: the vehicle, its financing, its insurance."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from temporalio import workflow

from workflows.context import Purchase, PurchaseEnded
from workflows.saga import UndoKind

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import (
        Activity,
        ApplyForLoanInput,
        ApplyForLoanResult,
        BatteryContractResult,
        BindPolicyInput,
        BindPolicyResult,
        BookShipmentInput,
        BookShipmentResult,
        CreateBatteryContractInput,
        ReserveVehicleInput,
        ReserveVehicleResult,
    )
    from carbuy.contract.events import PartnerEventType as E
    from carbuy.contract.purchase import Branch, PurchaseStage
    from carbuy.domain.pricing import loan_principal_fen


async def run_branches(p: Purchase) -> None:
    """Run vehicle, financing and insurance together; when one fails the others stop at their next step.

    Siblings are not cancelled mid-activity: a step in flight finishes and records its undo first, so
    compensation never misses what a partner already did.
    """
    p.tracker.start_branches({
        Branch.VEHICLE: PurchaseStage.ALLOCATION,
        Branch.FINANCING: PurchaseStage.FINANCING,
        Branch.INSURANCE: PurchaseStage.INSURANCE,
    })
    coros: list[Coroutine[Any, Any, None]] = [vehicle(p), financing(p), insurance(p)]
    tasks = [asyncio.create_task(c) for c in coros]
    await workflow.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    failed = next((t for t in tasks if t.done() and t.exception() is not None), None)
    if failed is None:
        return
    error = failed.exception()
    p.stop_reason = str(error)
    await workflow.wait(tasks)
    raise error  # type: ignore[misc]


async def vehicle(p: Purchase) -> None:
    """Reserve a VIN (waiting for stock if needed), ship it to the delivery centre, pass PDI."""
    order = p.order
    reservation, resend_reservation = await p.act_resendable(
        Activity.RESERVE_VEHICLE,
        ReserveVehicleInput(key=p.key("allocation"), order_ref=order.order_id, model=order.model, trim=p.trim,
                            colour=p.colour, mode=order.mode.value),
        ReserveVehicleResult,
        summary=f"reserve {order.model}/{p.trim}/{p.colour}",
    )
    p.record(UndoKind.RELEASE_VEHICLE, reservation.reservation_id)
    vin, warehouse = reservation.vin, reservation.warehouse
    if reservation.status == "backordered":
        p.tracker.branch(Branch.VEHICLE, PurchaseStage.ALLOCATION, "no stock: waiting for the OEM")
        allocated = await p.wait_event(
            "the OEM to allocate a VIN", reservation.reservation_id, [E.VEHICLE_ALLOCATED], p.policy.allocation_sla,
            resend=resend_reservation,
        )
        given_vin, given_warehouse = allocated.data.get("vin"), allocated.data.get("warehouse")
        if not isinstance(given_vin, str) or not given_vin or not isinstance(given_warehouse, str):
            raise PurchaseEnded(f"the OEM's allocation carried no VIN or warehouse: {allocated.data}",
                                partner_refused=True)
        vin, warehouse = given_vin, given_warehouse
    p.vin, p.warehouse = vin, warehouse
    p.tracker.note(f"VIN {vin} reserved at {warehouse}")

    p.tracker.branch(Branch.VEHICLE, PurchaseStage.LOGISTICS, "shipment booked")
    assert p.delivery_centre is not None and vin is not None and warehouse is not None
    shipment, resend_shipment = await p.act_resendable(
        Activity.BOOK_SHIPMENT,
        BookShipmentInput(key=p.key("shipment"), order_ref=order.order_id, vin=vin, warehouse=warehouse,
                          delivery_centre=p.delivery_centre),
        BookShipmentResult,
        summary=f"ship {vin} to {p.delivery_centre}",
    )
    p.shipment_id = shipment.shipment_id
    p.record(UndoKind.CANCEL_SHIPMENT, shipment.shipment_id)
    arrival = await p.wait_event(
        "the car to arrive at the delivery centre", shipment.shipment_id,
        [E.SHIPMENT_ARRIVED, E.SHIPMENT_DAMAGED], p.policy.logistics_sla, resend=resend_shipment,
    )
    if arrival.type == E.SHIPMENT_DAMAGED:
        raise PurchaseEnded(f"vehicle damaged in transit: {arrival.data.get('reason')}", partner_refused=True)
    p.tracker.note("arrived at the delivery centre")
    pdi = await p.wait_event(
        "the pre-delivery inspection", shipment.shipment_id, [E.PDI_PASSED, E.PDI_FAILED], p.policy.logistics_sla,
        resend=resend_shipment,
    )
    if pdi.type == E.PDI_FAILED:
        raise PurchaseEnded(f"pre-delivery inspection failed: {pdi.data.get('reason')}", partner_refused=True)
    p.tracker.branch_done(Branch.VEHICLE, "arrived, PDI passed")


async def financing(p: Purchase) -> None:
    """Arrange the plan: nothing for full payment, a loan decision, a battery contract, or both."""
    order = p.order
    if p.plan.has_loan:
        assert p.loan_terms is not None
        application, resend_application = await p.act_resendable(
            Activity.APPLY_FOR_LOAN,
            ApplyForLoanInput(
                key=p.key("loan"), order_ref=order.order_id, applicant_name=order.customer.name,
                applicant_id_number=order.customer.id_card_number, vehicle_price_fen=p.quote.price_fen,
                down_payment_fen=p.loan_terms.down_payment_fen, term_months=p.loan_terms.term_months,
            ),
            ApplyForLoanResult,
            summary="apply for a car loan",
        )
        p.loan_application_id = application.application_id
        p.record(UndoKind.CANCEL_LOAN, application.application_id)
        decision = await p.wait_event(
            "the lender's decision", application.application_id,
            [E.LOAN_APPROVED, E.LOAN_DENIED], p.policy.loan_decision_sla, resend=resend_application,
        )
        if decision.type == E.LOAN_DENIED:
            raise PurchaseEnded(f"loan denied: {decision.data.get('reason')}", partner_refused=True)
        asked = loan_principal_fen(p.quote.price_fen, p.loan_terms.down_payment_fen, p.policy.min_down_payment_bp)
        approved = decision.data.get("principal_fen")
        p.loan_principal = min(asked, approved) if isinstance(approved, int) else asked
        p.tracker.amounts.loan_principal = p.loan_principal
        p.tracker.note(f"loan approved: {p.loan_principal} fen")
    if p.plan.has_battery_lease:
        p.tracker.branch(Branch.FINANCING, PurchaseStage.FINANCING, "battery contract")
        contract = await p.act(
            Activity.CREATE_BATTERY_CONTRACT,
            CreateBatteryContractInput(key=p.key("battery"), order_ref=order.order_id,
                                       customer_name=order.customer.name, model=order.model,
                                       monthly_rent_fen=p.quote.battery_monthly_rent_fen),
            BatteryContractResult,
            summary="sign the battery lease",
        )
        p.battery_contract_id = contract.contract_id
        p.record(UndoKind.CANCEL_BATTERY_CONTRACT, contract.contract_id)
    p.tracker.branch_done(Branch.FINANCING, p.plan.value)


async def insurance(p: Purchase) -> None:
    """Bind the compulsory (and commercial) policy as soon as a VIN is known."""
    await p.wait("a VIN to insure", lambda: p.vin is not None, p.policy.allocation_sla, expires=False)
    assert p.vin is not None
    policy = await p.act(
        Activity.BIND_POLICY,
        BindPolicyInput(key=p.key("insurance"), order_ref=p.order.order_id, vin=p.vin,
                        holder_name=p.order.customer.name, holder_id_number=p.order.customer.id_card_number,
                        vehicle_price_fen=p.quote.price_fen, commercial=p.commercial_insurance),
        BindPolicyResult,
        summary="bind insurance",
    )
    p.policy_id = policy.policy_id
    p.premium = policy.total_premium_fen
    p.tracker.amounts.insurance_premium = p.premium
    p.record(UndoKind.CANCEL_POLICY, policy.policy_id, policy.total_premium_fen)
    p.tracker.branch_done(Branch.INSURANCE, f"policy {policy.policy_id}")
