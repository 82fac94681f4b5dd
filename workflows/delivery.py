"""From the car's arrival to the first service: balance, plate, handover, first service."""

from __future__ import annotations

import itertools

from temporalio import workflow

from workflows.calls import call
from workflows.context import Purchase
from workflows.ordering import cool_down, pay
from workflows.tracker import deadline_left
from workflows.waits import call_resendable

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import (
        Activity,
        BatteryContractRef,
        BatteryContractResult,
        BookFirstServiceInput,
        BookFirstServiceResult,
        DisburseLoanInput,
        DisburseLoanResult,
        SubmitRegistrationInput,
        SubmitRegistrationResult,
    )
    from carbuy.contract.events import PartnerEventType as E
    from carbuy.contract.purchase import PurchaseStage
    from carbuy.contract.undo import UndoKind
    from carbuy.domain.pricing import balance_due_fen


async def balance(p: Purchase) -> None:
    """The lender disburses the principal; the customer pays the balance within the window."""
    p.tracker.enter(PurchaseStage.BALANCE_PAYMENT)
    if p.loan.application_id is not None and p.loan.principal > 0:
        disbursement = await call(
            Activity.DISBURSE_LOAN,
            DisburseLoanInput(
                key=p.key("disbursement"),
                order_ref=p.order.order_id,
                application_id=p.loan.application_id,
                amount_fen=p.loan.principal,
            ),
            DisburseLoanResult,
            summary=f"lender disburses {p.loan.principal} fen",
        )
        p.loan.disbursed_fen = disbursement.amount_fen
        p.tracker.note(f"principal disbursed: {disbursement.amount_fen} fen ({disbursement.disbursement_id})")
    due = balance_due_fen(p.quote, premium_fen=p.insurance.premium, loan_principal_fen=p.loan.principal)
    p.money.balance_due = due
    if due == 0:
        return
    p.balance_open = True
    pay_by = workflow.now() + p.policy.balance_window
    await p.notifier.notify("vehicle_arrived", balance_fen=due, pay_by=f"{pay_by:%Y-%m-%d %H:%M} UTC")
    while True:
        pending = lambda: p.balance is not None and p.balance.outcome is None  # noqa: E731
        await p.waits.wait("the customer to pay the balance", pending, p.policy.balance_window, expires=False)
        assert p.balance is not None
        result = await pay(p, "balance", due, p.balance)
        if result is None and p.in_time:
            await cool_down(p, "balance")
        if result is not None:
            p.balance_open = False
            p.record(UndoKind.REFUND_BALANCE, result.payment_intent_id, result.amount_fen)
            p.tracker.enter(PurchaseStage.REGISTRATION)
            p.balance.settled = True
            return


async def registration(p: Purchase) -> None:
    """File the plate registration and wait for the plate; a rejection waits for ops to correct the data."""
    p.tracker.enter(PurchaseStage.REGISTRATION)
    assert p.vehicle.vin is not None and p.insurance.policy_id is not None
    owner_name, owner_id_number = p.order.customer.name, p.order.customer.id_card_number
    for attempt in itertools.count():
        application, resend = await call_resendable(
            Activity.SUBMIT_REGISTRATION,
            SubmitRegistrationInput(
                key=p.key("registration" if attempt == 0 else f"registration-{attempt}"),
                order_ref=p.order.order_id,
                vin=p.vehicle.vin,
                owner_name=owner_name,
                owner_id_number=owner_id_number,
                city=p.order.city,
                policy_id=p.insurance.policy_id,
                purchase_tax_fen=p.quote.purchase_tax_fen,
                invoice_number=f"INV-{p.order.order_id}",
            ),
            SubmitRegistrationResult,
            summary=f"register {p.vehicle.vin} in {p.order.city}" + (f" (correction {attempt})" if attempt else ""),
        )
        answer = await p.waits.wait_event(
            "the registry to issue the plate",
            application.application_id,
            [E.PLATE_ISSUED, E.REGISTRATION_REJECTED],
            p.policy.registration_sla,
            resend=resend,
        )
        if answer.type == E.PLATE_ISSUED:
            break
        owner_name, owner_id_number = await _corrected_owner(p, str(answer.data.get("reason")))
    p.registration.plate = str(answer.data.get("plate") or "")
    p.tracker.note(f"plate issued: {p.registration.plate}")
    await p.notifier.notify("plate_issued")


async def _corrected_owner(p: Purchase, reason: str) -> tuple[str, str]:
    """Flag the rejection for ops and wait for their corrected owner data (the update ops_correct_registration)."""
    p.registration.rejected = True
    why = f"registration rejected: {reason}; ops must correct the data and resubmit"
    p.tracker.flag("registration", why, workflow.now())
    await p.notifier.ops(why, since=f"{workflow.now():%Y-%m-%d %H:%M}", key=f"registration-{p.waits.breaches}")
    await p.waits.wait(
        "corrected registration data (ops)",
        lambda: p.registration.correction is not None,
        p.policy.registration_sla,
        expires=False,
    )
    correction = p.registration.correction
    assert correction is not None
    p.registration.rejected, p.registration.correction = False, None
    p.tracker.unflag("registration", f"registration data corrected by {correction.operator}")
    return correction.owner_name, correction.owner_id_number


async def handover(p: Purchase) -> None:
    """The customer accepts the car at the delivery centre; ownership passes, the battery lease starts."""
    p.tracker.enter(PurchaseStage.HANDOVER)
    await p.notifier.notify("ready_for_handover")
    while True:
        await p.waits.wait(
            "the customer to accept the car",
            lambda: p.handover.decision is not None,
            p.policy.handover_window,
            expires=False,
        )
        assert p.handover.decision is not None
        if p.handover.decision.accepted:
            break
        why = f"handover refused: {p.handover.decision.reason}"
        p.tracker.flag("handover", why, workflow.now())
        await p.notifier.ops(why, since=f"{workflow.now():%Y-%m-%d %H:%M}", key=f"handover-{p.waits.breaches}")
        p.handover.decision = None
    p.tracker.unflag("handover", "the customer accepted the car")
    p.handover.done = True
    p.saga.undos.clear()
    p.tracker.note("handed over: ownership passed to the customer")
    if p.battery.contract_id is not None:
        await call(
            Activity.ACTIVATE_BATTERY_CONTRACT,
            BatteryContractRef(
                key=p.key("battery-activation"),
                order_ref=p.order.order_id,
                contract_id=p.battery.contract_id,
                vin=p.vehicle.vin,
            ),
            BatteryContractResult,
            summary="start the battery lease",
        )


async def first_service(p: Purchase) -> None:
    """Book the first service, remind the customer before it is due, complete when done or at the deadline."""
    p.tracker.enter(PurchaseStage.FIRST_SERVICE)
    assert p.vehicle.vin is not None
    handed_over_at = workflow.now()
    due_at = handed_over_at + p.policy.first_service_due
    booking = await call(
        Activity.BOOK_FIRST_SERVICE,
        BookFirstServiceInput(
            key=p.key("first-service"), order_ref=p.order.order_id, vin=p.vehicle.vin, city=p.order.city, due_at=due_at
        ),
        BookFirstServiceResult,
        summary=f"book the first service in {p.order.city}",
    )
    done = lambda: p.waits.event(booking.booking_id, [E.SERVICE_COMPLETED]) is not None  # noqa: E731
    remind_in = deadline_left(due_at - p.policy.first_service_reminder)
    if not await p.waits.wait("the reminder before the first service", done, remind_in, expires=True):
        await p.notifier.notify("first_service_reminder", store_id=booking.store_id, due_date=f"{due_at:%Y-%m-%d}")
        p.tracker.note(f"reminded the customer of the first service at {booking.store_id}")
    deadline = deadline_left(handed_over_at + p.policy.first_service_deadline)
    if await p.waits.wait("the store to report the first service", done, deadline, expires=True):
        p.tracker.note(f"first service done at {booking.store_id}")
    else:
        p.tracker.note("first service not reported by the deadline; the purchase completes")
