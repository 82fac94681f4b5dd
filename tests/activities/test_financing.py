"""Lender activities against the real partner sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.financing import FinancingActivities
from carbuy.contract.activities import (
    ApplyForLoanInput,
    CancelLoanInput,
    DisburseLoanInput,
    SubmitLoanDocumentsInput,
)
from carbuy.contract.events import PartnerEventType as Event
from carbuy.contract.purchase import ErrorType
from carbuy.runtime.settings import DatabaseSettings, Settings
from tests.fixtures.sandbox import CallbackSink, SandboxControl

PRICE_FEN = 8_990_000


@pytest.fixture
async def lender(sandbox_settings: Settings, db_url: str) -> AsyncIterator[FinancingActivities]:
    settings = sandbox_settings.model_copy(update={"db": DatabaseSettings(url=db_url)})
    activities = FinancingActivities.from_settings(settings)
    yield activities
    await activities.aclose()


def application(order_ref: str, *, down_payment_fen: int = 1_800_000, term_months: int = 36) -> ApplyForLoanInput:
    return ApplyForLoanInput(
        key=f"{order_ref}-loan",
        order_ref=order_ref,
        applicant_name="Li Lei",
        applicant_id_number="11010519491231002X",
        vehicle_price_fen=PRICE_FEN,
        down_payment_fen=down_payment_fen,
        term_months=term_months,
    )


async def test_an_approved_loan_is_disbursed_and_cancelling_returns_the_principal(
    lender: FinancingActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()

    filed = await env.run(lender.apply_for_loan, application(order_ref))
    [decision] = await callback_sink.wait_for(order_ref, count=1)
    disbursed = await env.run(
        lender.disburse_loan,
        DisburseLoanInput(
            key=f"{order_ref}-disburse", order_ref=order_ref, application_id=filed.application_id, amount_fen=7_190_000
        ),
    )
    cancelled = await env.run(
        lender.cancel_loan,
        CancelLoanInput(key=f"{order_ref}-cancel", order_ref=order_ref, application_id=filed.application_id),
    )

    assert filed.status == "submitted"
    assert (decision.type, decision.institution, decision.reference) == (
        Event.LOAN_APPROVED,
        "lender",
        filed.application_id,
    )
    assert decision.data == {"principal_fen": 7_190_000, "annual_rate_bp": 350, "term_months": 36}
    assert disbursed.amount_fen == 7_190_000 and disbursed.disbursement_id
    assert (cancelled.cancelled, cancelled.principal_returned_fen) == (True, 7_190_000)


async def test_applying_twice_under_one_key_files_one_application(
    lender: FinancingActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()

    first = await env.run(lender.apply_for_loan, application(order_ref))
    again = await env.run(lender.apply_for_loan, application(order_ref))

    assert again.application_id == first.application_id
    assert len((await sandbox.inspect(order_ref))["requests"]) == 1
    assert len(await callback_sink.wait_for(order_ref, count=1)) == 1


async def test_a_denied_loan_comes_back_as_loan_denied_and_cannot_be_disbursed(
    lender: FinancingActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "loan_denied")
    env = ActivityEnvironment()

    filed = await env.run(lender.apply_for_loan, application(order_ref))
    [decision] = await callback_sink.wait_for(order_ref, count=1)
    with pytest.raises(ApplicationError) as refused:
        await env.run(
            lender.disburse_loan,
            DisburseLoanInput(
                key=f"{order_ref}-disburse", order_ref=order_ref, application_id=filed.application_id, amount_fen=100
            ),
        )

    assert decision.type == Event.LOAN_DENIED and decision.data["reason"]
    assert refused.value.type == ErrorType.PARTNER_REFUSED and refused.value.non_retryable
    assert refused.value.details == ({"type": "application_not_approved", "reason": "the application is denied"},)


async def test_a_loan_needing_documents_waits_for_them_then_is_decided(
    lender: FinancingActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "loan_documents_required")
    env = ActivityEnvironment()

    filed = await env.run(lender.apply_for_loan, application(order_ref))
    asked = await callback_sink.wait_for(order_ref, count=1)
    assert [c.type for c in asked] == [Event.LOAN_DOCUMENTS_REQUIRED]
    upload = SubmitLoanDocumentsInput(
        key=f"{order_ref}-docs", order_ref=order_ref, application_id=filed.application_id, documents=["proof_of_income"]
    )
    sent = await env.run(lender.submit_loan_documents, upload)
    again = await env.run(lender.submit_loan_documents, upload)  # a retry under the same key changes nothing

    callbacks = await callback_sink.wait_for(order_ref, until=Event.LOAN_APPROVED)
    # the replayed upload may re-send the latest callback about the application (same event id: a duplicate)
    distinct = {c.event_id: c.type for c in callbacks}
    assert list(distinct.values()) == [Event.LOAN_DOCUMENTS_REQUIRED, Event.LOAN_APPROVED]
    assert sent == again and sent.status == "submitted"
    with pytest.raises(ApplicationError) as refused:  # the decision is made: no more documents are taken
        await env.run(lender.submit_loan_documents, upload.model_copy(update={"key": f"{order_ref}-docs-2"}))
    assert refused.value.type == ErrorType.PARTNER_REFUSED


async def test_a_down_payment_under_fifteen_percent_is_refused_without_retry(
    lender: FinancingActivities, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()

    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(lender.apply_for_loan, application(order_ref, down_payment_fen=1_000_000))

    assert refused.value.type == ErrorType.PARTNER_REFUSED and refused.value.non_retryable
    assert refused.value.details[0]["type"] == "down_payment_too_low"


async def test_disbursing_more_than_the_principal_is_refused(
    lender: FinancingActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()
    filed = await env.run(lender.apply_for_loan, application(order_ref))
    await callback_sink.wait_for(order_ref, count=1)

    with pytest.raises(ApplicationError) as refused:
        await env.run(
            lender.disburse_loan,
            DisburseLoanInput(
                key=f"{order_ref}-disburse",
                order_ref=order_ref,
                application_id=filed.application_id,
                amount_fen=PRICE_FEN,
            ),
        )

    assert refused.value.details[0]["type"] == "amount_exceeds_principal"


async def test_reusing_a_key_for_another_application_is_a_non_retryable_conflict(
    lender: FinancingActivities, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()
    await env.run(lender.apply_for_loan, application(order_ref))

    with pytest.raises(ApplicationError) as conflict:
        await env.run(lender.apply_for_loan, application(order_ref, term_months=48))

    assert conflict.value.type == ErrorType.PARTNER_CONFLICT and conflict.value.non_retryable
    assert conflict.value.details[0]["type"] == "idempotency_key_reused"
