"""From the car's arrival to the first service: balance, plate, handover, first service."""

from __future__ import annotations

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
            DisburseLoanInput(key=p.key("disbursement"), order_ref=p.order.order_id,
                              application_id=p.loan_application_id, amount_fen=p.loan_principal),
            DisburseLoanResult,
            summary=f"lender disburses {p.loan_principal} fen",
        )
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
    """File the plate registration and wait for the plate (a rejection waits for corrected data)."""
    p.tracker.enter(PurchaseStage.REGISTRATION)
    assert p.vin is not None and p.policy_id is not None
    application = await p.act(
        Activity.SUBMIT_REGISTRATION,
        SubmitRegistrationInput(
            key=p.key("registration"), order_ref=p.order.order_id, vin=p.vin, owner_name=p.order.customer.name,
            owner_id_number=p.order.customer.id_card_number, city=p.order.city, policy_id=p.policy_id,
            purchase_tax_fen=p.quote.purchase_tax_fen, invoice_number=f"INV-{p.order.order_id}",
        ),
        SubmitRegistrationResult,
        summary=f"register {p.vin} in {p.order.city}",
    )
    answer = await p.wait_event(
        "the registry to issue the plate", application.application_id,
        [E.PLATE_ISSUED, E.REGISTRATION_REJECTED], p.policy.registration_sla,
    )
    if answer.type == E.REGISTRATION_REJECTED:
        p.tracker.note(f"registration rejected: {answer.data.get('reason')}; waiting for corrected data")
        answer = await p.wait_event(
            "corrected registration data (ops)", application.application_id, [E.PLATE_ISSUED],
            p.policy.registration_sla,
        )
    p.plate = str(answer.data.get("plate") or "")
    p.tracker.note(f"plate issued: {p.plate}")
    await p.notify("plate_issued")


async def handover(p: Purchase) -> None:
    """The customer accepts the car at the delivery centre; ownership passes, the battery lease starts."""
    p.tracker.enter(PurchaseStage.HANDOVER)
    await p.notify("ready_for_handover")
    while True:
        await p.wait("the customer to accept the car", lambda: p.handover is not None, p.policy.handover_window,
                     expires=False)
        assert p.handover is not None
        if p.handover.accepted:
            break
        p.tracker.note(f"handover refused: {p.handover.reason}; waiting for the customer to accept")
        p.handover = None
    p.handed_over = True
    p.saga.undos.clear()
    p.tracker.note("handed over: ownership passed to the customer")
    if p.battery_contract_id is not None:
        await p.act(
            Activity.ACTIVATE_BATTERY_CONTRACT,
            BatteryContractRef(key=p.key("battery-activation"), order_ref=p.order.order_id,
                               contract_id=p.battery_contract_id, vin=p.vin),
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
        BookFirstServiceInput(key=p.key("first-service"), order_ref=p.order.order_id, vin=p.vin,
                              city=p.order.city, due_at=due_at),
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
