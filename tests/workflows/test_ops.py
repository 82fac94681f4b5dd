"""Ops find stuck purchases by their search attributes and fix them with updates that stay in history."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from carbuy.contract.activities import Activity, RefundInput
from carbuy.contract.ops import (
    DELIVERY_CENTER_KEY,
    NEEDS_ATTENTION_KEY,
    STUCK_SINCE_KEY,
    ChangeDeliveryCentreInput,
    CorrectRegistrationInput,
    ExtendDeadlineInput,
    OpsCancelInput,
    OpsResult,
    OpsUpdate,
    ResolveUndoInput,
    RetryInput,
)
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import CancelInput, HandoverInput, PayInput, PurchaseStage, PurchaseState, Update
from carbuy.domain.policy import PurchasePolicy
from tests.factories import purchase_input
from tests.workflows.driver import (
    GOOD_CARD,
    act,
    pay_and_lock,
    purchase_worker,
    skip_time,
    start,
    status,
    until,
    waiting_for,
)
from tests.workflows.fakes import FakePartners
from tests.workflows.test_purchase_ends_early import _update_events

OPERATOR = "li.wei"


async def _ops(handle: WorkflowHandle[Any, Any], update: OpsUpdate, arg: object) -> OpsResult:
    answer: OpsResult = await handle.execute_update(update.value, arg, result_type=OpsResult)
    return answer


async def _flag(client: Client, workflow_id: str) -> tuple[bool | None, datetime | None]:
    """NeedsAttention and StuckSince as stored (read raw: the test server keeps an unset attribute as an empty
    value where a real server removes it)."""
    description = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(namespace="default", execution=WorkflowExecution(workflow_id=workflow_id))
    )
    fields = description.workflow_execution_info.search_attributes.indexed_fields
    values = {name: json.loads(payload.data) if payload.data else None for name, payload in fields.items()}
    since = values.get(STUCK_SINCE_KEY.name) or None
    return values.get(NEEDS_ATTENTION_KEY.name), None if since is None else datetime.fromisoformat(since)


def _templates(partners: FakePartners) -> list[str]:
    return [arg.template for name, arg in partners.calls if name == Activity.SEND_NOTIFICATION]


async def test_a_lender_that_never_answers_is_flagged_after_the_sla_and_an_ops_retry_resumes_the_purchase(
    ts_client: Client, time_skipping_env: WorkflowEnvironment
) -> None:
    partners = FakePartners(ts_client, scenarios={"lender_silent"})
    input = purchase_input(FinancingPlan.LOAN, policy=PurchasePolicy(loan_decision_sla=timedelta(minutes=5)))
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("the lender's decision"))
        assert await _flag(ts_client, handle.id) == (False, None)

        await skip_time(time_skipping_env, handle, input.policy.loan_decision_sla + timedelta(minutes=1))
        stuck = await until(handle, lambda s: s.attention.needed)
        assert stuck.state == PurchaseState.ACTIVE  # it keeps waiting
        assert "SLA breached: waiting for the lender's decision" in stuck.attention.reasons[0]
        needs_attention, stuck_since = await _flag(ts_client, handle.id)
        assert needs_attention is True and stuck_since == stuck.attention.since
        assert {"purchase_delayed", "ops_attention"} <= set(_templates(partners))
        details = (await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)).current_details
        assert "**Needs attention**" in details and "the lender's decision" in details

        answer = await _ops(handle, OpsUpdate.RETRY, RetryInput(operator=OPERATOR, reason="lender lost the callback"))
        assert answer.accepted and "the lender's decision" in answer.message
        resumed = await until(handle, lambda s: not s.attention.needed and s.amounts.loan_principal > 0)
        assert await _flag(ts_client, handle.id) == (False, None)
        applications = [arg for name, arg in partners.calls if name == Activity.APPLY_FOR_LOAN]
        assert len(applications) == 2 and applications[0].key == applications[1].key  # resent, same key
        events = [e.event for e in resumed.timeline]
        assert any(e.startswith(f"ops {OPERATOR}: re-sending") and "lender lost the callback" in e for e in events)
        assert any("ops retry: apply for a car loan sent again" in e for e in events)


async def test_ops_actions_that_do_not_fit_the_stage_are_refused_before_they_reach_history(
    ts_client: Client,
) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await until(handle, waiting_for("deposit"))
        before = await _update_events(handle)
        refused = [
            (OpsUpdate.RETRY, RetryInput(operator=OPERATOR, reason="try again")),
            (
                OpsUpdate.CORRECT_REGISTRATION,
                CorrectRegistrationInput(
                    operator=OPERATOR, reason="typo", owner_name="Wang Fang", owner_id_number="11010519491231002X"
                ),
            ),
            (
                OpsUpdate.CHANGE_DELIVERY_CENTRE,
                ChangeDeliveryCentreInput(operator=OPERATOR, reason="closer", delivery_centre="NGC-Shenzhen-Futian"),
            ),
            (
                OpsUpdate.RESOLVE_UNDO,
                ResolveUndoInput(
                    operator=OPERATOR,
                    reason="done by hand",
                    undo="refund_deposit",
                    reference="pi_1",
                    external_reference="manual-1",
                ),
            ),
        ]
        for update, arg in refused:
            with pytest.raises(WorkflowUpdateFailedError) as refusal:
                await _ops(handle, update, arg)
            assert "WrongStage" in repr(refusal.value.cause), update
        assert await _update_events(handle) == before
        assert not any(e.event.startswith("ops ") for e in (await status(handle)).timeline)


async def test_a_rejected_registration_waits_for_corrected_data_and_is_resubmitted_under_a_new_key(
    ts_client: Client,
) -> None:
    partners = FakePartners(ts_client, scenarios={"registration_rejected"})
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("pay the balance"))
        await act(handle, Update.PAY_BALANCE, PayInput(payment_method=GOOD_CARD))
        stuck = await until(handle, waiting_for("corrected registration data"))
        assert stuck.attention.needed and "registration rejected" in stuck.attention.reasons[0]

        answer = await _ops(
            handle,
            OpsUpdate.CORRECT_REGISTRATION,
            CorrectRegistrationInput(
                operator=OPERATOR,
                reason="name typed wrong",
                owner_name="Wang Fang",
                owner_id_number="11010519491231002X",
            ),
        )
        assert answer.accepted
        done = await until(handle, lambda s: s.plate is not None and s.stage == PurchaseStage.HANDOVER)
        assert not done.attention.needed
        submissions = [arg for name, arg in partners.calls if name == Activity.SUBMIT_REGISTRATION]
        assert [s.owner_name for s in submissions] == [input.order.customer.name, "Wang Fang"]
        assert submissions[0].key != submissions[1].key


async def test_extending_a_breached_deadline_clears_the_flag_and_gives_the_wait_a_new_deadline(
    ts_client: Client, time_skipping_env: WorkflowEnvironment
) -> None:
    partners = FakePartners(ts_client)
    # a short window: skipping days would also fire the timers of every other test's open purchase
    input = purchase_input(FinancingPlan.FULL, policy=PurchasePolicy(balance_window=timedelta(minutes=5)))
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("pay the balance"))
        await skip_time(time_skipping_env, handle, input.policy.balance_window + timedelta(minutes=1))
        stuck = await until(handle, lambda s: s.attention.needed)
        assert [w.breached for w in stuck.waiting_for] == [True]

        answer = await _ops(
            handle,
            OpsUpdate.EXTEND_DEADLINE,
            ExtendDeadlineInput(
                operator=OPERATOR, reason="customer asked for two more days", extend_by=timedelta(days=2)
            ),
        )
        assert answer.accepted
        assert "ops_attention" in _templates(partners) and "purchase_delayed" not in _templates(partners)
        extended = await until(handle, lambda s: not s.attention.needed)
        [wait] = extended.waiting_for
        assert not wait.breached and wait.deadline is not None
        assert await _flag(ts_client, handle.id) == (False, None)


async def test_ops_change_the_delivery_centre_before_the_car_ships_and_retry_the_silent_oem(
    ts_client: Client,
) -> None:
    partners = FakePartners(ts_client, scenarios={"stock_silent"})
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("the OEM to allocate a VIN"))
        answer = await _ops(
            handle,
            OpsUpdate.CHANGE_DELIVERY_CENTRE,
            ChangeDeliveryCentreInput(
                operator=OPERATOR, reason="customer moved", delivery_centre="NGC-Shenzhen-Futian"
            ),
        )
        assert answer.accepted
        assert (await handle.describe()).typed_search_attributes.get(DELIVERY_CENTER_KEY) == "NGC-Shenzhen-Futian"
        await _ops(handle, OpsUpdate.RETRY, RetryInput(operator=OPERATOR, reason="OEM lost the request"))
        await until(handle, waiting_for("pay the balance"))
        [shipment] = [arg for name, arg in partners.calls if name == Activity.BOOK_SHIPMENT]
        assert shipment.delivery_centre == "NGC-Shenzhen-Futian"
        with pytest.raises(WorkflowUpdateFailedError):  # the car has shipped
            await _ops(
                handle,
                OpsUpdate.CHANGE_DELIVERY_CENTRE,
                ChangeDeliveryCentreInput(operator=OPERATOR, reason="again", delivery_centre="NGC-Guangzhou-Tianhe"),
            )


async def test_an_ops_cancellation_after_lock_waives_the_fee_and_refunds_the_whole_deposit(
    ts_client: Client,
) -> None:
    partners = FakePartners(ts_client, scenarios={"lender_silent"})
    input = purchase_input(FinancingPlan.LOAN)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("the lender's decision"))
        await _ops(handle, OpsUpdate.CANCEL, OpsCancelInput(operator=OPERATOR, reason="lender out of business"))
        result = await handle.result()
    assert (result.state, result.stage) == (PurchaseState.CANCELLED, PurchaseStage.CANCELLED)
    assert f"by ops ({OPERATOR})" in (result.reason or "")
    assert [arg.amount_fen for _, arg in partners.calls if isinstance(arg, RefundInput)] == [input.quote.deposit_fen]


async def test_a_failed_undo_leaves_the_purchase_failed_for_ops_who_retry_it_or_resolve_it_by_hand(
    ts_client: Client,
) -> None:
    partners = FakePartners(ts_client, scenarios={"loan_denied", "release_fails"})
    input = purchase_input(FinancingPlan.LOAN)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("switch to full payment"))
        await act(handle, Update.CANCEL, CancelInput(reason="no loan, no car"))  # no fee: the lender refused
        failed = await until(handle, lambda s: s.state == PurchaseState.FAILED and bool(s.failed_undos))
        [undo] = failed.failed_undos

        # the failed undo did not stop the others
        assert failed.stage == PurchaseStage.FAILED
        assert (undo.kind, "unknown reservation" in undo.error) == ("release_vehicle", True)
        assert failed.attention.needed and "release_vehicle" in failed.attention.reasons[0]
        assert [arg.amount_fen for _, arg in partners.calls if isinstance(arg, RefundInput)] == [
            input.quote.deposit_fen
        ]  # the deposit refund ran after the failed release
        assert Activity.CANCEL_LOAN in partners.names()
        ops_told = [
            arg
            for name, arg in partners.calls
            if name == Activity.SEND_NOTIFICATION and arg.template == "ops_attention"
        ]
        assert len(ops_told) == 1 and ops_told[0].audience == "ops"

        with pytest.raises(WorkflowUpdateFailedError) as wrong:
            await _ops(
                handle,
                OpsUpdate.RESOLVE_UNDO,
                ResolveUndoInput(
                    operator=OPERATOR,
                    reason="wrong reference",
                    undo=undo.kind,
                    reference="nope",
                    external_reference="m-1",
                ),
            )
        assert "InvalidAction" in repr(wrong.value.cause)

        await _ops(handle, OpsUpdate.RETRY, RetryInput(operator=OPERATOR, reason="inventory was down"))
        again = await until(
            handle,
            lambda s: (
                s.state == PurchaseState.FAILED
                and any("ops li.wei: retrying" in e.event for e in s.timeline)
                and bool(s.failed_undos)
            ),
        )
        assert sum(1 for name, _ in partners.calls if name == Activity.RELEASE_VEHICLE) == 2

        await _ops(
            handle,
            OpsUpdate.RESOLVE_UNDO,
            ResolveUndoInput(
                operator=OPERATOR,
                reason="released in the OEM portal",
                undo=undo.kind,
                reference=undo.reference,
                external_reference="OEM-TICKET-7781",
            ),
        )
        result = await handle.result()
    assert (result.state, result.stage) == (PurchaseState.CANCELLED, PurchaseStage.CANCELLED)
    assert again.attention.needed
    assert await _flag(ts_client, handle.id) == (False, None)


async def test_a_refused_handover_is_flagged_for_ops_until_the_customer_accepts(ts_client: Client) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await pay_and_lock(handle, input)
        await until(handle, waiting_for("pay the balance"))
        await act(handle, Update.PAY_BALANCE, PayInput(payment_method=GOOD_CARD))
        await until(handle, waiting_for("the customer to accept the car"))
        await act(handle, Update.HANDOVER, HandoverInput(accepted=False, reason="scratch on the door"))
        refused = await until(handle, lambda s: s.attention.needed)
        assert "handover refused: scratch on the door" in refused.attention.reasons[0]
        await until(handle, waiting_for("the customer to accept the car"))
        await act(handle, Update.HANDOVER, HandoverInput(accepted=True))
        accepted = await until(handle, lambda s: s.stage == PurchaseStage.FIRST_SERVICE)
    assert not accepted.attention.needed
