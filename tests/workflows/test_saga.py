"""A cancellation at every stage runs exactly the undos of the steps done, newest first, with the stage's fee rules."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import CancelledError

from carbuy.contract.activities import Activity
from carbuy.contract.ledger import RecordPurchaseOutcomeInput
from carbuy.contract.ops import OpsResult, OpsUpdate, ResolveUndoInput
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import (
    Branch,
    CancelInput,
    HandoverInput,
    PayInput,
    PurchaseInput,
    PurchaseResult,
    PurchaseStage,
    PurchaseState,
    PurchaseStatus,
    Update,
)
from carbuy.domain.policy import PurchasePolicy
from tests.eventually import eventually
from tests.factories import purchase_input
from tests.workflows.driver import GOOD_CARD, act, pay_and_lock, pay_deposit, purchase_worker, start, status, until
from tests.workflows.driver import waiting_for as waits
from tests.workflows.fakes import FakePartners
from tests.workflows.test_ops import _flag
from tests.workflows.test_purchase_ends_early import _update_events
from workflows.purchase import PurchaseWorkflow

Handle = WorkflowHandle[PurchaseWorkflow, PurchaseResult]
A = Activity
REASON = "changed my mind"
FEE = PurchasePolicy().cancellation_fee_fen
BIG_DEPOSIT = 50_000
"""A deposit above the fee, so what is refunded after lock (deposit - fee) is not zero."""

UNDO_OF = {
    A.RESERVE_VEHICLE: A.RELEASE_VEHICLE,
    A.APPLY_FOR_LOAN: A.CANCEL_LOAN,
    A.CREATE_BATTERY_CONTRACT: A.CANCEL_BATTERY_CONTRACT,
    A.BIND_POLICY: A.CANCEL_POLICY,
    A.BOOK_SHIPMENT: A.CANCEL_SHIPMENT,
}
UNDOS = {A.REFUND, A.RECORD_CANCELLATION_FEE, *UNDO_OF.values()}
EVERY_BRANCH_UNDO = [A.CANCEL_SHIPMENT, A.CANCEL_POLICY, A.RELEASE_VEHICLE, A.CANCEL_BATTERY_CONTRACT, A.CANCEL_LOAN]


def _reference(fields: dict[str, Any]) -> str:
    """The partner's reference in a step's result or an undo's input: its one `..._id` field."""
    [reference] = [value for name, value in fields.items() if name.endswith("_id")]
    return str(reference)


@dataclass(frozen=True)
class Move:
    """A call that changed the world (a step or an undo), with the partner's reference and the money."""

    activity: str
    reference: str
    amount_fen: int = 0


async def _steps_done(client: Client, handle: Handle) -> list[Move]:
    """The steps that succeeded, in the order the purchase learnt of them (its history): the saga's order."""
    converter = client.data_converter
    scheduled: dict[int, str] = {}
    done: list[Move] = []
    for e in (await handle.fetch_history()).events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[e.event_id] = e.activity_task_scheduled_event_attributes.activity_type.name
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attrs = e.activity_task_completed_event_attributes
            name = scheduled[attrs.scheduled_event_id]
            if name in (A.CHARGE, *UNDO_OF):
                result: dict[str, Any] = (await converter.decode(list(attrs.result.payloads)))[0]
                done.append(Move(name, _reference(result), result.get("amount_fen", 0)))
    return done


def _expected_undos(done: list[Move], *, fee_fen: int) -> list[Move]:
    """The undos of the steps done, newest first; the first charge is the deposit, which keeps the fee."""
    undos: list[Move] = []
    for step in reversed(done):
        if step is done[0]:
            if fee_fen:
                undos.append(Move(A.RECORD_CANCELLATION_FEE, step.reference, fee_fen))
            if step.amount_fen > fee_fen:
                undos.append(Move(A.REFUND, step.reference, step.amount_fen - fee_fen))
        elif step.activity == A.CHARGE:
            undos.append(Move(A.REFUND, step.reference, step.amount_fen))
        else:
            undos.append(Move(UNDO_OF[A(step.activity)], step.reference))
    return undos


def _undos(partners: FakePartners) -> list[Move]:
    return [
        Move(name, _reference(arg.model_dump()), getattr(arg, "amount_fen", 0))
        for name, arg in partners.calls
        if name in UNDOS
    ]


def _args(partners: FakePartners, activity: Activity) -> list[Any]:
    return [arg for name, arg in partners.calls if name == activity]


def _outcomes(partners: FakePartners) -> list[RecordPurchaseOutcomeInput]:
    return _args(partners, A.RECORD_PURCHASE_OUTCOME)


def _branches_done(*branches: Branch) -> Callable[[PurchaseStatus], bool]:
    return lambda s: {b.branch for b in s.branches if b.done} >= set(branches)


def _all(*ready: Callable[[PurchaseStatus], bool]) -> Callable[[PurchaseStatus], bool]:
    return lambda s: all(r(s) for r in ready)


async def _deposit_due(handle: Handle, input: PurchaseInput) -> None:
    await until(handle, waits("the customer to pay the deposit"))


async def _lock_due(handle: Handle, input: PurchaseInput) -> None:
    await pay_deposit(handle)
    await until(handle, waits("the customer to lock the order"))


async def _no_stock(handle: Handle, input: PurchaseInput) -> None:
    await pay_and_lock(handle, input)
    await until(handle, _all(waits("the OEM to allocate a VIN"), _branches_done(Branch.FINANCING)))


async def _loan_decision_due(handle: Handle, input: PurchaseInput) -> None:
    await pay_and_lock(handle, input)
    await until(handle, _all(waits("the lender's decision"), _branches_done(Branch.VEHICLE, Branch.INSURANCE)))


async def _in_transit(handle: Handle, input: PurchaseInput) -> None:
    await pay_and_lock(handle, input)
    await until(handle, _all(waits("the car to arrive"), _branches_done(Branch.FINANCING, Branch.INSURANCE)))


async def _balance_due(handle: Handle, input: PurchaseInput) -> None:
    await pay_and_lock(handle, input)
    await until(handle, waits("the customer to pay the balance"))


async def _plate_due(handle: Handle, input: PurchaseInput) -> None:
    await _balance_due(handle, input)
    assert (await act(handle, Update.PAY_BALANCE, PayInput(payment_method=GOOD_CARD))).accepted
    await until(handle, waits("the registry to issue the plate"))


async def _handover_due(handle: Handle, input: PurchaseInput) -> None:
    await _balance_due(handle, input)
    assert (await act(handle, Update.PAY_BALANCE, PayInput(payment_method=GOOD_CARD))).accepted
    await until(handle, waits("the customer to accept the car"))


async def _handover_refused(handle: Handle, input: PurchaseInput) -> None:
    await _handover_due(handle, input)
    await act(handle, Update.HANDOVER, HandoverInput(accepted=False, reason="scratch on the door"))
    await until(handle, _all(lambda s: s.attention.needed, waits("the customer to accept the car")))


@dataclass(frozen=True)
class Stage:
    """Where the customer cancels, and which undos (kinds) that must run."""

    id: str
    reach: Callable[[Handle, PurchaseInput], Awaitable[None]]
    stage: PurchaseStage
    undone: Sequence[str]
    plan: FinancingPlan = FinancingPlan.LOAN_BATTERY
    scenarios: set[str] = field(default_factory=set)
    deposit_fen: int = BIG_DEPOSIT

    @property
    def locked(self) -> bool:
        """Whether the order is locked when the customer cancels (the fee is kept only then)."""
        return self.stage not in (PurchaseStage.DEPOSIT, PurchaseStage.LOCK)


AFTER_BALANCE = [A.REFUND, *EVERY_BRANCH_UNDO, A.RECORD_CANCELLATION_FEE, A.REFUND]
STAGES = [
    Stage("deposit_unpaid", _deposit_due, PurchaseStage.DEPOSIT, [], FinancingPlan.FULL),
    Stage("lock", _lock_due, PurchaseStage.LOCK, [A.REFUND], FinancingPlan.FULL, deposit_fen=10_000),
    Stage(
        "allocation_no_stock",
        _no_stock,
        PurchaseStage.ALLOCATION,  # the whole deposit is the fee: no refund
        [A.CANCEL_BATTERY_CONTRACT, A.CANCEL_LOAN, A.RELEASE_VEHICLE, A.RECORD_CANCELLATION_FEE],
        scenarios={"stock_silent"},
        deposit_fen=FEE,
    ),
    Stage(
        "financing_loan_decision",
        _loan_decision_due,
        PurchaseStage.FINANCING,
        [A.CANCEL_SHIPMENT, A.CANCEL_POLICY, A.RELEASE_VEHICLE, A.CANCEL_LOAN, A.RECORD_CANCELLATION_FEE, A.REFUND],
        scenarios={"lender_silent"},
    ),
    Stage(
        "insurance_bound_in_transit",
        _in_transit,
        PurchaseStage.LOGISTICS,
        [*EVERY_BRANCH_UNDO, A.RECORD_CANCELLATION_FEE, A.REFUND],
        scenarios={"in_transit"},
    ),
    Stage(
        "balance_due",
        _balance_due,
        PurchaseStage.BALANCE_PAYMENT,
        [*EVERY_BRANCH_UNDO, A.RECORD_CANCELLATION_FEE, A.REFUND],
    ),
    Stage(
        "registration_plate_due", _plate_due, PurchaseStage.REGISTRATION, AFTER_BALANCE, scenarios={"registry_silent"}
    ),
    Stage("handover", _handover_due, PurchaseStage.HANDOVER, AFTER_BALANCE),
    Stage("handover_after_refusal", _handover_refused, PurchaseStage.HANDOVER, AFTER_BALANCE),
]


@pytest.mark.parametrize("case", STAGES, ids=lambda c: c.id)
async def test_a_customer_cancel_runs_the_undos_of_the_steps_done_newest_first_with_the_stage_fee(
    ts_client: Client, case: Stage
) -> None:
    partners = FakePartners(ts_client, scenarios=set(case.scenarios))
    input = purchase_input(case.plan, policy=PurchasePolicy(deposit_fen=case.deposit_fen))
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await case.reach(handle, input)
        before = await status(handle)
        answer = await act(handle, Update.CANCEL, CancelInput(reason=REASON))
        result = await handle.result()
        final = await status(handle)
        done = await _steps_done(ts_client, handle)

    assert (before.state, before.stage) == (PurchaseState.ACTIVE, case.stage)
    assert answer.accepted and answer.stage == case.stage
    assert (result.state, result.stage, result.reason) == (
        PurchaseState.CANCELLED,
        PurchaseStage.CANCELLED,
        f"cancelled: {REASON}",
    )
    undos = _undos(partners)
    assert sorted(u.activity for u in undos) == sorted(case.undone)
    fee = FEE if case.locked else 0
    assert undos == _expected_undos(done, fee_fen=fee)  # exactly the steps done, newest first

    refunds = [(r.kind, r.amount_fen) for r in _args(partners, A.REFUND)]
    balance = [c.amount_fen for c in _args(partners, A.CHARGE) if c.kind == "balance"]
    deposit_back = [("deposit", case.deposit_fen - fee)] if done and case.deposit_fen > fee else []
    assert refunds == [("balance", b) for b in balance] + deposit_back
    assert final.amounts.refunded == sum(amount for _, amount in refunds)
    assert not final.attention.needed  # also after a refused handover: cancelling makes the cause moot
    fees = [(f.amount_fen, f.payment_intent_id) for f in _args(partners, A.RECORD_CANCELLATION_FEE)]
    assert fees == ([(FEE, done[0].reference)] if case.locked else [])

    outcomes = _outcomes(partners)
    if not done:  # no money moved: nothing to tell finance
        assert partners.names() == [] and outcomes == []
        return
    [outcome] = outcomes
    assert (outcome.state, outcome.locked, outcome.fee_waived, outcome.deposit_fen) == (
        "cancelled",
        case.locked,
        False,
        case.deposit_fen,
    )
    if disbursed := _args(partners, A.DISBURSE_LOAN):  # the loan is cancelled and its principal returned
        [cancel_loan] = _args(partners, A.CANCEL_LOAN)
        assert cancel_loan.application_id == disbursed[0].application_id
        assert outcome.loan_principal_fen == disbursed[0].amount_fen > 0
    else:
        assert outcome.loan_principal_fen == 0


async def test_a_purchase_cancelled_after_a_refused_handover_no_longer_needs_attention(ts_client: Client) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await _handover_refused(handle, input)
        await act(handle, Update.CANCEL, CancelInput(reason=REASON))
        result = await handle.result()
        final = await status(handle)
        flagged = await _flag(ts_client, handle.id)  # read raw: see test_ops._flag
    assert result.state == PurchaseState.CANCELLED
    assert (final.attention.needed, flagged) == (False, (False, None))
    assert any("no longer needs attention" in e.event for e in final.timeline)


async def _until_cancel_processed(handle: Handle) -> list[EventType.ValueType]:
    """Wait until the workflow completed a task after the cancel request; the history's event types."""

    async def processed() -> list[EventType.ValueType]:
        types = [e.event_type for e in (await handle.fetch_history()).events]
        assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED in types, "no cancel request yet"
        after = types[types.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED) :]
        assert EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED in after, "no workflow task after the cancel request"
        return types

    return await eventually(processed)


async def test_cancelling_the_workflow_mid_branches_lets_the_step_in_flight_finish_and_waives_the_fee(
    ts_client: Client,
) -> None:
    gate = asyncio.Event()
    partners = FakePartners(ts_client, gates={A.BOOK_SHIPMENT: gate})
    input = purchase_input(FinancingPlan.LOAN_BATTERY, policy=PurchasePolicy(deposit_fen=BIG_DEPOSIT))
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(
            handle,
            _all(_branches_done(Branch.FINANCING, Branch.INSURANCE), lambda s: A.BOOK_SHIPMENT in partners.names()),
        )
        await handle.cancel()
        history = await _until_cancel_processed(handle)
        gate.set()  # the carrier answers after the cancellation
        with pytest.raises(WorkflowFailureError) as ended:
            await handle.result()
        final = await status(handle)
        done = await _steps_done(ts_client, handle)

    assert isinstance(ended.value.cause, CancelledError)
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED not in history
    assert (final.state, final.stage, final.reason) == (
        PurchaseState.CANCELLED,
        PurchaseStage.CANCELLED,
        "cancelled: the workflow was cancelled",
    )
    undos = _undos(partners)
    assert sorted(u.activity for u in undos) == sorted([*EVERY_BRANCH_UNDO, A.REFUND])
    # the booked shipment is cancelled; an operator's cancel (UI, CLI, batch) waives the fee like ops_cancel
    assert undos == _expected_undos(done, fee_fen=0)
    [outcome] = _outcomes(partners)
    assert (outcome.state, outcome.fee_waived) == ("cancelled", True)


async def test_cancels_during_a_slow_undo_are_refused_or_wait_and_no_undo_runs_twice(ts_client: Client) -> None:
    gate = asyncio.Event()
    partners = FakePartners(ts_client, gates={A.CANCEL_POLICY: gate})
    input = purchase_input(FinancingPlan.LOAN_BATTERY, policy=PurchasePolicy(deposit_fen=BIG_DEPOSIT))
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await _balance_due(handle, input)
        await act(handle, Update.CANCEL, CancelInput(reason=REASON))
        await until(handle, lambda s: s.state == PurchaseState.COMPENSATING and A.CANCEL_POLICY in partners.names())
        updates = await _update_events(handle)
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await act(handle, Update.CANCEL, CancelInput(reason="cancel again, faster"))
        assert await _update_events(handle) == updates  # refused before it reached history
        await handle.cancel()
        history = await _until_cancel_processed(handle)
        still = await status(handle)
        gate.set()
        with pytest.raises(WorkflowFailureError) as ended:
            await handle.result()
        final = await status(handle)
        done = await _steps_done(ts_client, handle)

    assert "state compensating" in str(refused.value.cause)
    assert still.state == PurchaseState.COMPENSATING  # the undo in flight goes on
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED not in history
    assert isinstance(ended.value.cause, CancelledError)
    assert (final.state, final.reason) == (PurchaseState.CANCELLED, f"cancelled: {REASON}")
    undos = _undos(partners)
    assert undos == _expected_undos(done, fee_fen=FEE) and len(set(undos)) == len(undos)
    assert len(_outcomes(partners)) == 1


async def test_a_failed_undo_waits_for_ops_through_a_customer_and_a_workflow_cancel_and_nothing_runs_twice(
    ts_client: Client,
) -> None:
    partners = FakePartners(ts_client, scenarios={"release_fails"})
    input = purchase_input(FinancingPlan.LOAN_BATTERY, policy=PurchasePolicy(deposit_fen=BIG_DEPOSIT))
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await _balance_due(handle, input)
        await act(handle, Update.CANCEL, CancelInput(reason=REASON))
        failed = await until(handle, lambda s: s.state == PurchaseState.FAILED and bool(s.failed_undos))
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await act(handle, Update.CANCEL, CancelInput(reason="cancel again"))
        await handle.cancel()
        await _until_cancel_processed(handle)
        waiting = await status(handle)
        [undo] = failed.failed_undos
        await handle.execute_update(
            OpsUpdate.RESOLVE_UNDO.value,
            ResolveUndoInput(
                operator="li.wei",
                reason="released in the OEM portal",
                undo=undo.kind,
                reference=undo.reference,
                external_reference="OEM-TICKET-1",
            ),
            result_type=OpsResult,
        )
        with pytest.raises(WorkflowFailureError) as ended:
            await handle.result()
        final = await status(handle)
        done = await _steps_done(ts_client, handle)

    assert "state failed" in str(refused.value.cause)
    assert (waiting.state, [u.kind for u in waiting.failed_undos]) == (PurchaseState.FAILED, ["release_vehicle"])
    assert isinstance(ended.value.cause, CancelledError)
    assert (final.state, final.stage) == (PurchaseState.CANCELLED, PurchaseStage.CANCELLED)
    undos = _undos(partners)  # the failed release was tried once, then resolved by hand
    assert undos == _expected_undos(done, fee_fen=FEE) and len(set(undos)) == len(undos)
    assert len(_outcomes(partners)) == 1


@pytest.mark.parametrize(
    ("plan", "scenarios", "undone", "refused_by"),
    [
        (
            FinancingPlan.BATTERY_LEASE,
            {"insurer_refuses"},
            [A.CANCEL_SHIPMENT, A.RELEASE_VEHICLE, A.CANCEL_BATTERY_CONTRACT, A.REFUND],
            "insurer",
        ),
        (
            FinancingPlan.LOAN_BATTERY,
            {"battery_refuses", "stock_silent"},
            [A.RELEASE_VEHICLE, A.CANCEL_LOAN, A.REFUND],
            "battery operator",
        ),
    ],
    ids=["insurer", "battery_operator"],
)
async def test_a_partner_refusal_undoes_the_steps_done_newest_first_and_keeps_no_fee(
    ts_client: Client, plan: FinancingPlan, scenarios: set[str], undone: list[str], refused_by: str
) -> None:
    partners = FakePartners(ts_client, scenarios=scenarios)
    input = purchase_input(plan, policy=PurchasePolicy(deposit_fen=BIG_DEPOSIT))
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        result = await handle.result()
        done = await _steps_done(ts_client, handle)

    assert (result.state, result.stage) == (PurchaseState.CANCELLED, PurchaseStage.CANCELLED)
    assert (result.reason or "").startswith(f"refused: {refused_by}: ")
    undos = _undos(partners)
    assert sorted(u.activity for u in undos) == sorted(undone)
    assert undos == _expected_undos(done, fee_fen=0)
    assert [(r.kind, r.amount_fen) for r in _args(partners, A.REFUND)] == [("deposit", BIG_DEPOSIT)]
    [outcome] = _outcomes(partners)
    assert (outcome.state, outcome.locked, outcome.fee_waived) == ("cancelled", True, True)
