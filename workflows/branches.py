"""After lock, three branches run side by side: the vehicle, its financing, its insurance."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from typing import Any

from temporalio import workflow

from workflows.calls import call
from workflows.compensation import undo_now
from workflows.context import Purchase, PurchaseEnded
from workflows.patches import LEAN_HISTORY, OFFER_FULL_PAYMENT, REALLOCATE
from workflows.waits import call_resendable

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
        SubmitLoanDocumentsInput,
        SubmitLoanDocumentsResult,
    )
    from carbuy.contract.events import PartnerEvent
    from carbuy.contract.events import PartnerEventType as E
    from carbuy.contract.order import FinancingPlan
    from carbuy.contract.purchase import Branch, PurchaseStage
    from carbuy.contract.undo import UndoKind
    from carbuy.domain.pricing import loan_principal_fen


async def run_branches(p: Purchase) -> None:
    """Run vehicle, financing and insurance together; when one fails the others stop at their next step.

    Siblings are not cancelled mid-activity: a step in flight finishes and records its undo first, so
    compensation never misses what a partner already did.
    """
    p.tracker.start_branches(
        {
            Branch.VEHICLE: PurchaseStage.ALLOCATION,
            Branch.FINANCING: PurchaseStage.FINANCING,
            Branch.INSURANCE: PurchaseStage.INSURANCE,
        }
    )
    coros: list[Coroutine[Any, Any, None]] = [vehicle(p), financing(p), insurance(p)]
    tasks = [asyncio.create_task(c) for c in coros]
    await workflow.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    failed = next((t for t in tasks if t.done() and t.exception() is not None), None)
    if failed is None:
        await _insure_the_delivered_vin(p)
        return
    error = failed.exception()
    p.stop_reason = str(error)
    await workflow.wait(tasks)
    raise error  # type: ignore[misc]


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


async def financing(p: Purchase) -> None:
    """Arrange the plan: nothing for full payment, a loan decision, a battery contract, or both.

    A denied loan (or documents never uploaded) lets the customer switch to full payment within a window.
    """
    order = p.order
    if p.plan.has_loan:
        await _loan(p)
    if p.plan.has_battery_lease:
        p.tracker.branch(Branch.FINANCING, PurchaseStage.FINANCING, "battery contract")
        contract = await call(
            Activity.CREATE_BATTERY_CONTRACT,
            CreateBatteryContractInput(
                key=p.key("battery"),
                order_ref=order.order_id,
                customer_name=order.customer.name,
                model=order.model,
                monthly_rent_fen=p.quote.battery_monthly_rent_fen,
            ),
            BatteryContractResult,
            summary="sign the battery lease",
        )
        p.battery.contract_id = contract.contract_id
        p.record(UndoKind.CANCEL_BATTERY_CONTRACT, contract.contract_id)
    p.tracker.branch_done(Branch.FINANCING, p.plan.value)


async def _loan(p: Purchase) -> None:
    """Apply, give the lender the documents it asks for, and take its decision (or switch to full payment)."""
    order = p.order
    assert p.loan.terms is not None
    application, resend_application = await call_resendable(
        Activity.APPLY_FOR_LOAN,
        ApplyForLoanInput(
            key=p.key("loan"),
            order_ref=order.order_id,
            applicant_name=order.customer.name,
            applicant_id_number=order.customer.id_card_number,
            vehicle_price_fen=p.quote.price_fen,
            down_payment_fen=p.loan.terms.down_payment_fen,
            term_months=p.loan.terms.term_months,
        ),
        ApplyForLoanResult,
        summary="apply for a car loan",
    )
    application_id = p.loan.application_id = application.application_id
    p.record(UndoKind.CANCEL_LOAN, application_id)
    decision: PartnerEvent | None = await p.waits.wait_event(
        "the lender's decision",
        application_id,
        [E.LOAN_APPROVED, E.LOAN_DENIED, E.LOAN_DOCUMENTS_REQUIRED],
        p.policy.loan_decision_sla,
        resend=resend_application,
    )
    if decision is not None and decision.type == E.LOAN_DOCUMENTS_REQUIRED:
        decision = await _documents(p, application_id, str(decision.data.get("documents") or "documents"))
    if decision is None or decision.type == E.LOAN_DENIED:
        denied = decision is not None
        reason = (
            f"loan denied: {decision.data.get('reason')}"
            if decision is not None
            else "the documents the lender asked for were not uploaded in time"
        )
        if denied and not workflow.patched(OFFER_FULL_PAYMENT):  # started before the offer existed
            raise PurchaseEnded(reason, partner_refused=True)
        await _offer_full_payment(p, application_id, reason, denied=denied)
        return
    asked = loan_principal_fen(p.quote.price_fen, p.loan.terms.down_payment_fen, p.policy.min_down_payment_bp)
    approved = decision.data.get("principal_fen")
    p.loan.principal = min(asked, approved) if isinstance(approved, int) else asked
    p.tracker.note(f"loan approved: {p.loan.principal} fen")


async def _documents(p: Purchase, application_id: str, documents: str) -> PartnerEvent | None:
    """The lender asked for documents: the customer uploads them within the window, then the lender decides.

    None when the window passed without them (the loan lapses, as if denied).
    """
    p.loan.documents_asked = documents
    p.tracker.branch(Branch.FINANCING, PurchaseStage.FINANCING, f"the lender asks for {documents}")
    upload_by = workflow.now() + p.policy.loan_documents_window
    await p.notifier.notify("loan_documents_required", documents=documents, upload_by=f"{upload_by:%Y-%m-%d %H:%M} UTC")
    uploaded = await p.waits.wait(
        "the customer to upload loan documents",
        lambda: p.loan.documents is not None,
        p.policy.loan_documents_window,
        expires=True,
    )
    p.loan.documents_asked = None
    if not uploaded:
        return None
    assert p.loan.documents is not None
    _, resend = await call_resendable(
        Activity.SUBMIT_LOAN_DOCUMENTS,
        SubmitLoanDocumentsInput(
            key=p.key("loan-documents"),
            order_ref=p.order.order_id,
            application_id=application_id,
            documents=p.loan.documents.documents,
        ),
        SubmitLoanDocumentsResult,
        summary=f"send the lender {', '.join(p.loan.documents.documents)}",
    )
    return await p.waits.wait_event(
        "the lender's decision",
        application_id,
        [E.LOAN_APPROVED, E.LOAN_DENIED],
        p.policy.loan_decision_sla,
        resend=resend,
    )


async def _offer_full_payment(p: Purchase, application_id: str, reason: str, *, denied: bool) -> None:
    """No loan: the customer may switch to full payment within the window, else the purchase ends with no fee.

    A switch withdraws an application that lapsed (a denied one has nothing left to withdraw).
    """
    p.checkpoint()  # a cancel that came with the lender's answer is the customer's, with its fee rules
    p.loan.refused = reason
    p.cancel_waives_fee = True  # cancelling now is not the customer's fault either
    p.tracker.branch(Branch.FINANCING, PurchaseStage.FINANCING, f"{reason}: the customer may pay in full")
    switch_by = workflow.now() + p.policy.loan_switch_window
    await p.notifier.notify("loan_denied", reason=reason, switch_by=f"{switch_by:%Y-%m-%d %H:%M} UTC")
    switched = await p.waits.wait(
        "the customer to switch to full payment",
        lambda: p.loan.switched_to_full,
        p.policy.loan_switch_window,
        expires=True,
    )
    p.loan.refused = None
    if not switched:
        raise PurchaseEnded(f"{reason}; the customer did not switch to full payment in time", partner_refused=True)
    p.cancel_waives_fee = False
    p.loan.terms = None
    if denied:
        p.saga.settle(UndoKind.CANCEL_LOAN, application_id, "the lender refused the loan: nothing to withdraw")
    else:
        await undo_now(p, UndoKind.CANCEL_LOAN, application_id, "switched to full payment")
    # the plan changes where it is published: the search attribute moves with it, as it always did
    p.plan = FinancingPlan.BATTERY_LEASE if p.plan.has_battery_lease else FinancingPlan.FULL
    p.tracker.locked()
    p.tracker.note(f"switched to full payment: plan {p.plan.value}")


async def insurance(p: Purchase) -> None:
    """Bind the compulsory (and commercial) policy as soon as a VIN is known."""
    # the vehicle branch's own SLA covers a VIN that does not come; a second timer here only cost history events
    # and raised a second flag for the same cause
    sla = None if workflow.patched(LEAN_HISTORY) else p.policy.allocation_sla
    await p.waits.wait("a VIN to insure", lambda: p.vehicle.vin is not None, sla, expires=False)
    await _bind(p, "insurance")
    p.tracker.branch_done(Branch.INSURANCE, f"policy {p.insurance.policy_id}")


async def _bind(p: Purchase, step: str) -> None:
    assert p.vehicle.vin is not None
    vin = p.vehicle.vin
    policy = await call(
        Activity.BIND_POLICY,
        BindPolicyInput(
            key=p.key(step),
            order_ref=p.order.order_id,
            vin=vin,
            holder_name=p.order.customer.name,
            holder_id_number=p.order.customer.id_card_number,
            vehicle_price_fen=p.quote.price_fen,
            commercial=p.insurance.commercial,
        ),
        BindPolicyResult,
        summary="bind insurance" if step == "insurance" else f"bind insurance on {vin} (another VIN)",
    )
    p.insurance.policy_id, p.insurance.insured_vin = policy.policy_id, vin
    p.insurance.premium = policy.total_premium_fen
    p.record(UndoKind.CANCEL_POLICY, policy.policy_id, policy.total_premium_fen)


async def _insure_the_delivered_vin(p: Purchase) -> None:
    """After a reallocation the policy may cover the VIN that went back: cancel it and insure the new one."""
    if p.insurance.insured_vin == p.vehicle.vin or p.insurance.policy_id is None:
        return
    old_policy, old_vin = p.insurance.policy_id, p.insurance.insured_vin
    await undo_now(p, UndoKind.CANCEL_POLICY, old_policy, f"VIN {old_vin} went back to the OEM")
    p.checkpoint()
    await _bind(p, f"insurance-{p.vehicle.reallocations + 1}")
