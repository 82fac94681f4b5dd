"""From the car's arrival to the first service: balance, plate, handover, first service."""

from __future__ import annotations

import itertools

from temporalio import workflow

from workflows.context import Purchase
from workflows.ordering import pay
from workflows.saga import UndoKind
from workflows.tracker import deadline_left

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
    from carbuy.domain.pricing import balance_due_fen


async def balance(p: Purchase) -> None:
    """The lender disburses the principal; the customer pays the balance within the window."""
    p.tracker.enter(PurchaseStage.BALANCE_PAYMENT)
    if p.loan_application_id is not None and p.loan_principal > 0:
        disbursement = await p.act(
            Activity.DISBURSE_LOAN,
            DisburseLoanInput(
                key=p.key("disbursement"),
                order_ref=p.order.order_id,
                application_id=p.loan_application_id,
                amount_fen=p.loan_principal,
            ),
            DisburseLoanResult,
            summary=f"lender disburses {p.loan_principal} fen",
        )
        p.disbursed_fen = disbursement.amount_fen
        p.tracker.note(f"principal disbursed: {disbursement.amount_fen} fen ({disbursement.disbursement_id})")
    due = balance_due_fen(p.quote, premium_fen=p.premium, loan_principal_fen=p.loan_principal)
    p.tracker.amounts.balance_due = due
    if due == 0:
        return
    p.balance_open = True
    pay_by = workflow.now() + p.policy.balance_window
    await p.notify("vehicle_arrived", balance_fen=due, pay_by=f"{pay_by:%Y-%m-%d %H:%M} UTC")
    while True:
        pending = lambda: p.balance is not None and p.balance.outcome is None  # noqa: E731
        await p.wait("the customer to pay the balance", pending, p.policy.balance_window, expires=False)
        assert p.balance is not None
        result = await pay(p, "balance", due, p.balance)
        if result is not None:
            p.balance_open = False
            p.record(UndoKind.REFUND_BALANCE, result.payment_intent_id, result.amount_fen)
            p.tracker.enter(PurchaseStage.REGISTRATION)
            p.balance.settled = True
            return


async def registration(p: Purchase) -> None:
    """File the plate registration and wait for the plate; a rejection waits for ops to correct the data."""
    p.tracker.enter(PurchaseStage.REGISTRATION)
    assert p.vin is not None and p.policy_id is not None
    owner_name, owner_id_number = p.order.customer.name, p.order.customer.id_card_number
    for attempt in itertools.count():
        application, resend = await p.act_resendable(
            Activity.SUBMIT_REGISTRATION,
            SubmitRegistrationInput(
                key=p.key("registration" if attempt == 0 else f"registration-{attempt}"),
                order_ref=p.order.order_id,
                vin=p.vin,
                owner_name=owner_name,
                owner_id_number=owner_id_number,
                city=p.order.city,
                policy_id=p.policy_id,
                purchase_tax_fen=p.quote.purchase_tax_fen,
                invoice_number=f"INV-{p.order.order_id}",
            ),
            SubmitRegistrationResult,
            summary=f"register {p.vin} in {p.order.city}" + (f" (correction {attempt})" if attempt else ""),
        )
        answer = await p.wait_event(
            "the registry to issue the plate",
            application.application_id,
            [E.PLATE_ISSUED, E.REGISTRATION_REJECTED],
            p.policy.registration_sla,
            resend=resend,
        )
        if answer.type == E.PLATE_ISSUED:
            break
        owner_name, owner_id_number = await _corrected_owner(p, str(answer.data.get("reason")))
    p.plate = str(answer.data.get("plate") or "")
    p.tracker.note(f"plate issued: {p.plate}")
    await p.notify("plate_issued")


async def _corrected_owner(p: Purchase, reason: str) -> tuple[str, str]:
    """Flag the rejection for ops and wait for their corrected owner data (the update ops_correct_registration)."""
    p.registration_rejected = True
    why = f"registration rejected: {reason}; ops must correct the data and resubmit"
    p.tracker.flag("registration", why, workflow.now())
    await p.notify_ops(why, since=f"{workflow.now():%Y-%m-%d %H:%M}", key=f"registration-{p.breaches}")
    await p.wait(
        "corrected registration data (ops)",
        lambda: p.registration_correction is not None,
        p.policy.registration_sla,
        expires=False,
    )
    correction = p.registration_correction
    assert correction is not None
    p.registration_rejected, p.registration_correction = False, None
    p.tracker.unflag("registration", f"registration data corrected by {correction.operator}")
    return correction.owner_name, correction.owner_id_number


async def handover(p: Purchase) -> None:
    """The customer accepts the car at the delivery centre; ownership passes, the battery lease starts."""
    p.tracker.enter(PurchaseStage.HANDOVER)
    await p.notify("ready_for_handover")
    while True:
        await p.wait(
            "the customer to accept the car", lambda: p.handover is not None, p.policy.handover_window, expires=False
        )
        assert p.handover is not None
        if p.handover.accepted:
            break
        why = f"handover refused: {p.handover.reason}"
        p.tracker.flag("handover", why, workflow.now())
        await p.notify_ops(why, since=f"{workflow.now():%Y-%m-%d %H:%M}", key=f"handover-{p.breaches}")
        p.handover = None
    p.tracker.unflag("handover", "the customer accepted the car")
    p.handed_over = True
    p.saga.undos.clear()
    p.tracker.note("handed over: ownership passed to the customer")
    if p.battery_contract_id is not None:
        await p.act(
            Activity.ACTIVATE_BATTERY_CONTRACT,
            BatteryContractRef(
                key=p.key("battery-activation"),
                order_ref=p.order.order_id,
                contract_id=p.battery_contract_id,
                vin=p.vin,
            ),
            BatteryContractResult,
            summary="start the battery lease",
        )


async def first_service(p: Purchase) -> None:
    """Book the first service, remind the customer before it is due, complete when done or at the deadline."""
    p.tracker.enter(PurchaseStage.FIRST_SERVICE)
    assert p.vin is not None
    handed_over_at = workflow.now()
    due_at = handed_over_at + p.policy.first_service_due
    booking = await p.act(
        Activity.BOOK_FIRST_SERVICE,
        BookFirstServiceInput(
            key=p.key("first-service"), order_ref=p.order.order_id, vin=p.vin, city=p.order.city, due_at=due_at
        ),
        BookFirstServiceResult,
        summary=f"book the first service in {p.order.city}",
    )
    done = lambda: p.event(booking.booking_id, [E.SERVICE_COMPLETED]) is not None  # noqa: E731
    remind_in = deadline_left(due_at - p.policy.first_service_reminder)
    if not await p.wait("the reminder before the first service", done, remind_in, expires=True):
        await p.notify("first_service_reminder", store_id=booking.store_id, due_date=f"{due_at:%Y-%m-%d}")
        p.tracker.note(f"reminded the customer of the first service at {booking.store_id}")
    deadline = deadline_left(handed_over_at + p.policy.first_service_deadline)
    if await p.wait("the store to report the first service", done, deadline, expires=True):
        p.tracker.note(f"first service done at {booking.store_id}")
    else:
        p.tracker.note("first service not reported by the deadline; the purchase completes")
