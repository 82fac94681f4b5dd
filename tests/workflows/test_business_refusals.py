"""Business refusals with their product behaviour: a denied loan offers full payment, the lender may ask for
documents, a damaged car or a failed PDI brings another VIN instead of a cancellation."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

import pytest
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from carbuy.contract.activities import (
    Activity,
    BindPolicyInput,
    BookShipmentInput,
    CancelPolicyInput,
    ChargeInput,
    RefundInput,
    ReleaseVehicleInput,
    ReserveVehicleInput,
    SendNotificationInput,
    SubmitLoanDocumentsInput,
    SubmitRegistrationInput,
)
from carbuy.contract.ledger import RecordPurchaseOutcomeInput
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import (
    CancelInput,
    LoanDocumentsInput,
    PayInput,
    PurchaseState,
    SwitchToFullPaymentInput,
    Update,
)
from carbuy.domain.policy import PurchasePolicy
from carbuy.domain.pricing import balance_due_fen
from tests.factories import purchase_input
from tests.workflows.driver import (
    GOOD_CARD,
    act,
    buy_until_handover,
    pay_and_lock,
    pay_balance_and_accept,
    purchase_worker,
    skip_time,
    start,
    status,
    until,
    waiting_for,
)
from tests.workflows.fakes import FakePartners

T = TypeVar("T")

UNDOS = {
    Activity.REFUND,
    Activity.RELEASE_VEHICLE,
    Activity.CANCEL_LOAN,
    Activity.CANCEL_BATTERY_CONTRACT,
    Activity.CANCEL_POLICY,
    Activity.CANCEL_SHIPMENT,
}


def _calls(partners: FakePartners, kind: type[T]) -> list[T]:
    return [arg for _, arg in partners.calls if isinstance(arg, kind)]


def _templates(partners: FakePartners) -> list[str]:
    return [n.template for n in _calls(partners, SendNotificationInput)]


async def test_after_a_denied_loan_the_customer_switches_to_full_payment_and_buys_the_car(ts_client: Client) -> None:
    partners = FakePartners(ts_client, scenarios={"loan_denied"})
    input = purchase_input(FinancingPlan.LOAN_BATTERY)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        offered = await until(handle, waiting_for("switch to full payment"))
        switched = await act(handle, Update.SWITCH_TO_FULL_PAYMENT, SwitchToFullPaymentInput())
        with pytest.raises(WorkflowUpdateFailedError):  # once is enough
            await act(handle, Update.SWITCH_TO_FULL_PAYMENT, SwitchToFullPaymentInput())
        await pay_balance_and_accept(handle)
        result = await handle.result()
        final = await status(handle)

    assert offered.financing_plan == FinancingPlan.LOAN_BATTERY and switched.accepted
    assert (result.state, final.financing_plan) == (PurchaseState.COMPLETED, FinancingPlan.BATTERY_LEASE)
    names = partners.names()
    assert Activity.DISBURSE_LOAN not in names and not UNDOS & set(names)
    assert Activity.ACTIVATE_BATTERY_CONTRACT in names  # the battery lease stays
    balance = [c for c in _calls(partners, ChargeInput) if c.kind == "balance"]
    assert [c.amount_fen for c in balance] == [
        balance_due_fen(input.quote, premium_fen=input.quote.premium_fen, loan_principal_fen=0)
    ]
    assert "loan_denied" in _templates(partners)
    outcome = _calls(partners, RecordPurchaseOutcomeInput)[-1]
    assert (outcome.state, outcome.loan_principal_fen) == ("completed", 0)


async def test_a_denied_loan_not_switched_in_time_cancels_without_fee_undoing_in_reverse(ts_client: Client) -> None:
    partners = FakePartners(ts_client, scenarios={"loan_denied", "slow_pdi"})
    input = purchase_input(FinancingPlan.LOAN)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        result = await handle.result()

    assert result.state == PurchaseState.CANCELLED
    assert "did not switch to full payment" in (result.reason or "")
    undos = [name for name in partners.names() if name in UNDOS]
    # reverse order of the steps done: policy (bound last), shipment, loan application, VIN, then the deposit
    assert undos[-1] == Activity.REFUND and undos.index(Activity.CANCEL_SHIPMENT) < undos.index(
        Activity.RELEASE_VEHICLE
    )
    assert sorted(undos) == sorted(
        [
            Activity.CANCEL_POLICY,
            Activity.CANCEL_SHIPMENT,
            Activity.CANCEL_LOAN,
            Activity.RELEASE_VEHICLE,
            Activity.REFUND,
        ]
    )
    assert [r.amount_fen for r in _calls(partners, RefundInput)] == [input.quote.deposit_fen]  # no fee
    assert Activity.RECORD_CANCELLATION_FEE not in partners.names()


async def test_cancelling_while_the_switch_is_offered_keeps_no_fee(ts_client: Client) -> None:
    partners = FakePartners(ts_client, scenarios={"loan_denied", "slow_pdi"})
    input = purchase_input(FinancingPlan.LOAN)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("switch to full payment"))
        await act(handle, Update.CANCEL, CancelInput(reason="no loan, no car"))
        result = await handle.result()
    assert result.state == PurchaseState.CANCELLED
    assert [r.amount_fen for r in _calls(partners, RefundInput)] == [input.quote.deposit_fen]
    assert Activity.RECORD_CANCELLATION_FEE not in partners.names()


async def test_the_lender_asks_for_documents_and_decides_once_they_are_uploaded(ts_client: Client) -> None:
    partners = FakePartners(ts_client, scenarios={"loan_documents"})
    input = purchase_input(FinancingPlan.LOAN)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        with pytest.raises(WorkflowUpdateFailedError):  # nothing was asked for yet
            await act(handle, Update.UPLOAD_LOAN_DOCUMENTS, LoanDocumentsInput(documents=["proof_of_income"]))
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("upload loan documents"))
        sent = await act(handle, Update.UPLOAD_LOAN_DOCUMENTS, LoanDocumentsInput(documents=["proof_of_income"]))
        await pay_balance_and_accept(handle)
        result = await handle.result()

    assert sent.accepted and result.state == PurchaseState.COMPLETED
    [upload] = _calls(partners, SubmitLoanDocumentsInput)
    assert upload.documents == ["proof_of_income"] and upload.key.endswith(":loan-documents")
    assert Activity.DISBURSE_LOAN in partners.names()
    assert "loan_documents_required" in _templates(partners)


async def test_documents_never_uploaded_lapse_the_loan_and_the_purchase_ends_without_fee(ts_client: Client) -> None:
    partners = FakePartners(ts_client, scenarios={"loan_documents"})
    input = purchase_input(FinancingPlan.LOAN)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        result = await handle.result()
    assert result.state == PurchaseState.CANCELLED
    assert "not uploaded in time" in (result.reason or "")
    assert _calls(partners, SubmitLoanDocumentsInput) == []
    assert [r.amount_fen for r in _calls(partners, RefundInput)] == [input.quote.deposit_fen]


@pytest.mark.parametrize("scenario", ["damaged", "pdi_failed"])
async def test_a_car_that_cannot_be_delivered_is_replaced_by_another_vin(ts_client: Client, scenario: str) -> None:
    partners = FakePartners(ts_client, scenarios={scenario})
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await buy_until_handover(handle, input)
        result = await handle.result()
        final = await status(handle)

    assert result.state == PurchaseState.COMPLETED
    first, second = _calls(partners, ReserveVehicleInput)
    assert (first.key.endswith(":allocation"), second.key.endswith(":allocation-2")) == (True, True)
    [released] = _calls(partners, ReleaseVehicleInput)  # the first car went back to the OEM, before the second
    names = partners.names()
    assert names.index(Activity.RELEASE_VEHICLE) < [i for i, n in enumerate(names) if n == Activity.RESERVE_VEHICLE][1]
    assert Activity.CANCEL_SHIPMENT not in names  # the carrier's job had ended
    shipments = _calls(partners, BookShipmentInput)
    assert len(shipments) == 2 and shipments[0].vin != shipments[1].vin
    delivered = shipments[1].vin
    # the policy follows the car: the one on the first VIN is cancelled, the delivered VIN is insured
    policies = _calls(partners, BindPolicyInput)
    assert policies[-1].vin == delivered and {p.vin for p in policies} <= {shipments[0].vin, delivered}
    assert len(_calls(partners, CancelPolicyInput)) == len(policies) - 1
    assert [r.vin for r in _calls(partners, SubmitRegistrationInput)] == [delivered] and final.vin == delivered
    assert "vehicle_reallocated" in _templates(partners)
    assert Activity.REFUND not in names


async def test_a_car_damaged_every_time_ends_the_purchase_without_fee(ts_client: Client) -> None:
    partners = FakePartners(ts_client, scenarios={"always_damaged"})
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        result = await handle.result()
    assert result.state == PurchaseState.CANCELLED and "no sound car after 3 VINs" in (result.reason or "")
    assert len(_calls(partners, ReserveVehicleInput)) == 3
    assert len(_calls(partners, ReleaseVehicleInput)) == 3  # two returned on the way, the last one undone
    assert Activity.CANCEL_SHIPMENT not in partners.names()  # no carrier fee for a damaged car's shipment
    assert [r.amount_fen for r in _calls(partners, RefundInput)] == [input.quote.deposit_fen]


async def test_switching_to_full_payment_is_refused_when_the_lender_did_not_refuse(ts_client: Client) -> None:
    partners = FakePartners(ts_client, scenarios={"slow_pdi"})
    input = purchase_input(FinancingPlan.LOAN)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("inspection"))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await act(handle, Update.SWITCH_TO_FULL_PAYMENT, SwitchToFullPaymentInput())
    assert "only after the lender refused" in str(refused.value.cause)


async def test_no_stock_waits_for_the_oem_and_is_flagged_once_the_allocation_sla_passes(
    ts_client: Client, time_skipping_env: WorkflowEnvironment
) -> None:
    partners = FakePartners(ts_client, scenarios={"stock_silent"})
    input = purchase_input(FinancingPlan.FULL, policy=PurchasePolicy(allocation_sla=timedelta(minutes=7)))
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        waiting = await until(handle, waiting_for("the OEM to allocate a VIN"))
        await skip_time(time_skipping_env, handle, input.policy.allocation_sla + timedelta(minutes=1))
        stuck = await until(handle, lambda s: s.attention.needed)
    assert not waiting.attention.needed and stuck.state == PurchaseState.ACTIVE  # no stock: it waits on
    assert any("SLA breached: waiting for the OEM to allocate a VIN" in r for r in stuck.attention.reasons)
    assert {"purchase_delayed", "ops_attention"} <= set(_templates(partners))
    assert not UNDOS & set(partners.names())


async def test_a_declined_balance_card_can_be_retried_and_the_car_is_bought(ts_client: Client) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("pay the balance"))
        declined = await act(handle, Update.PAY_BALANCE, PayInput(payment_method="pm_card_chargeDeclined"))
        await pay_balance_and_accept(handle)
        result = await handle.result()
    assert not declined.accepted and "declined" in declined.message
    balance = [c for c in _calls(partners, ChargeInput) if c.kind == "balance"]
    assert [c.payment_method for c in balance] == ["pm_card_chargeDeclined", GOOD_CARD]
    assert balance[0].key != balance[1].key and result.state == PurchaseState.COMPLETED
    assert Activity.REFUND not in partners.names()


async def test_switching_after_the_documents_lapsed_withdraws_the_open_application(
    ts_client: Client, time_skipping_env: WorkflowEnvironment
) -> None:
    partners = FakePartners(ts_client, scenarios={"loan_documents"})
    input = purchase_input(FinancingPlan.LOAN, policy=PurchasePolicy(loan_documents_window=timedelta(minutes=5)))
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("upload loan documents"))
        await skip_time(time_skipping_env, handle, input.policy.loan_documents_window + timedelta(minutes=1))
        offered = await until(handle, waiting_for("switch to full payment"))
        await act(handle, Update.SWITCH_TO_FULL_PAYMENT, SwitchToFullPaymentInput())
        await pay_balance_and_accept(handle)
        result = await handle.result()
    assert any("not uploaded in time" in (b.detail or "") for b in offered.branches)
    assert result.state == PurchaseState.COMPLETED
    # the lender still held the application (documents asked for): it is withdrawn, once, under the undo's key
    [withdrawn] = [arg for name, arg in partners.calls if name == Activity.CANCEL_LOAN]
    assert withdrawn.key.endswith(f":undo:cancel_loan:{withdrawn.application_id}")
    assert Activity.DISBURSE_LOAN not in partners.names()
