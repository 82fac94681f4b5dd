"""Expiry, cancellation and refusal end a purchase with the recorded undos run in reverse, with the fee rules."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError

from carbuy.contract.activities import Activity, RefundInput
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import CancelInput, HandoverInput, PayInput, PurchaseStage, PurchaseState, Update
from tests.factories import purchase_input
from tests.workflows.driver import (
    GOOD_CARD,
    act,
    buy_until_handover,
    pay_and_lock,
    pay_deposit,
    purchase_worker,
    start,
    status,
    until,
    waiting_for,
)
from tests.workflows.fakes import FakePartners

UNDOS = {
    Activity.REFUND,
    Activity.RELEASE_VEHICLE,
    Activity.CANCEL_LOAN,
    Activity.CANCEL_BATTERY_CONTRACT,
    Activity.CANCEL_POLICY,
    Activity.CANCEL_SHIPMENT,
}


async def _update_events(handle: WorkflowHandle[Any, Any]) -> list[EventType.ValueType]:
    """The update events of a history (the test server records a workflow task even for a rejected update)."""
    return [
        e.event_type
        for e in (await handle.fetch_history()).events
        if e.event_type
        in (
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
            EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        )
    ]


def _undos(partners: FakePartners) -> list[str]:
    return [name for name in partners.names() if name in UNDOS]


def _refunds(partners: FakePartners) -> list[int]:
    return [arg.amount_fen for name, arg in partners.calls if isinstance(arg, RefundInput)]


async def test_an_unpaid_deposit_expires_the_purchase_with_nothing_to_undo(ts_client: Client) -> None:
    partners = FakePartners(ts_client)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, purchase_input(FinancingPlan.FULL))
        result = await handle.result()
    assert (result.state, result.stage) == (PurchaseState.CANCELLED, PurchaseStage.CANCELLED)
    assert "deposit was not paid" in (result.reason or "")
    assert partners.names() == []


async def test_cancelling_before_lock_refunds_the_whole_deposit(ts_client: Client) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_deposit(handle)
        await act(handle, Update.CANCEL, CancelInput(reason="changed my mind"))
        result = await handle.result()
    assert result.state == PurchaseState.CANCELLED
    assert _refunds(partners) == [input.quote.deposit_fen]


async def test_an_unlocked_order_expires_and_refunds_the_whole_deposit(ts_client: Client) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_deposit(handle)
        result = await handle.result()
    assert "not locked in time" in (result.reason or "")
    assert _refunds(partners) == [input.quote.deposit_fen]


async def test_cancelling_after_lock_keeps_the_deposit_as_fee_and_undoes_every_step_in_reverse(
    ts_client: Client,
) -> None:
    partners = FakePartners(ts_client, scenarios={"slow_pdi"})
    input = purchase_input(FinancingPlan.LOAN_BATTERY)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(
            handle,
            lambda s: (
                all(b.done for b in s.branches if b.branch.value != "vehicle")
                and any("inspection" in w.what for w in s.waiting_for)
            ),
        )
        await act(handle, Update.CANCEL, CancelInput(reason="found a cheaper car"))
        result = await handle.result()
        final = await status(handle)

    assert result.state == PurchaseState.CANCELLED
    assert _refunds(partners) == []  # 100 CNY deposit kept as the cancellation fee, nothing else was paid
    undos = _undos(partners)
    assert sorted(undos) == sorted(
        [
            Activity.CANCEL_SHIPMENT,
            Activity.RELEASE_VEHICLE,
            Activity.CANCEL_POLICY,
            Activity.CANCEL_BATTERY_CONTRACT,
            Activity.CANCEL_LOAN,
        ]
    )
    # undone in reverse: within each branch, the later step first
    assert undos.index(Activity.CANCEL_SHIPMENT) < undos.index(Activity.RELEASE_VEHICLE)
    assert undos.index(Activity.CANCEL_BATTERY_CONTRACT) < undos.index(Activity.CANCEL_LOAN)
    assert undos.index(Activity.CANCEL_POLICY) < undos.index(Activity.RELEASE_VEHICLE)
    assert final.amounts.refunded == 0


async def test_a_declined_card_can_be_retried_with_another_card_under_a_new_key(ts_client: Client) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await until(handle, waiting_for("deposit"))
        declined = await act(handle, Update.PAY_DEPOSIT, PayInput(payment_method="pm_card_chargeDeclined"))
        # a new attempt is admitted only after a short durable cool-down (IN_TIME_ACTIONS)
        with pytest.raises(WorkflowUpdateFailedError) as too_soon:
            await act(handle, Update.PAY_DEPOSIT, PayInput(payment_method=GOOD_CARD))
        await until(handle, waiting_for("deposit"))
        paid = await act(handle, Update.PAY_DEPOSIT, PayInput(payment_method=GOOD_CARD))
        await handle.cancel()
        with pytest.raises(WorkflowFailureError):
            await handle.result()
    assert declined.accepted is False and "declined" in declined.message
    assert "try again in a few seconds" in str(too_soon.value.cause)
    assert paid.accepted is True
    assert _refunds(partners) == [input.quote.deposit_fen]  # cancelling the workflow compensates too
    keys = [arg.key for name, arg in partners.calls if name == Activity.CHARGE]
    assert len(keys) == 2 and len(set(keys)) == 2


async def test_cancelling_after_handover_is_refused_before_it_reaches_history(ts_client: Client) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await buy_until_handover(handle, input)
        await until(handle, waiting_for("reminder"))
        before = await _update_events(handle)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await act(handle, Update.CANCEL, CancelInput(reason="too late"))
        after = await _update_events(handle)
        with pytest.raises(WorkflowUpdateFailedError):
            await act(handle, Update.HANDOVER, HandoverInput(accepted=True))
        result = await handle.result()
    assert "not allowed in stage first_service" in str(refused.value.cause)
    assert after == before
    assert result.state == PurchaseState.COMPLETED


async def test_accepting_the_car_and_cancelling_at_once_lets_only_one_through(ts_client: Client) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("pay the balance"))
        await act(handle, Update.PAY_BALANCE, PayInput(payment_method=GOOD_CARD))
        await until(handle, waiting_for("accept the car"))
        answers = await asyncio.gather(
            act(handle, Update.HANDOVER, HandoverInput(accepted=True)),
            act(handle, Update.CANCEL, CancelInput(reason="changed my mind")),
            return_exceptions=True,
        )
        result = await handle.result()

    accepted = [a for a in answers if not isinstance(a, BaseException)]
    assert len(accepted) == 1
    if accepted[0].message == "handover accepted":
        assert result.state == PurchaseState.COMPLETED and _refunds(partners) == []
    else:
        assert result.state == PurchaseState.CANCELLED


async def test_a_notifier_that_refuses_every_message_does_not_stop_the_purchase(ts_client: Client) -> None:
    partners = FakePartners(ts_client, scenarios={"notifier_down"})
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await buy_until_handover(handle, input)
        result = await handle.result()
        final = await status(handle)
    assert result.state == PurchaseState.COMPLETED
    assert any("notification deposit_received not sent" in e.event for e in final.timeline)
