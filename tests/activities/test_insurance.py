"""Insurer activities against the real partner sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.insurance import InsuranceActivities
from carbuy.contract.activities import BindPolicyInput, CancelPolicyInput
from carbuy.contract.purchase import ErrorType
from carbuy.runtime.settings import Settings
from tests.fixtures.sandbox import SandboxControl


@pytest.fixture
async def insurer(sandbox_settings: Settings) -> AsyncIterator[InsuranceActivities]:
    activities = InsuranceActivities.from_settings(sandbox_settings)
    yield activities
    await activities.aclose()


def bind_input(order_ref: str, *, commercial: bool = True) -> BindPolicyInput:
    return BindPolicyInput(
        key=f"{order_ref}-policy",
        order_ref=order_ref,
        vin="LMGAE1U50TG000001",
        holder_name="Han Meimei",
        holder_id_number="11010519491231002X",
        vehicle_price_fen=8_990_000,
        commercial=commercial,
    )


async def test_binding_with_commercial_cover_charges_both_premiums(
    insurer: InsuranceActivities, sandbox: SandboxControl
) -> None:
    policy = await ActivityEnvironment().run(insurer.bind_policy, bind_input(sandbox.new_order_ref()))

    assert (policy.compulsory_premium_fen, policy.commercial_premium_fen) == (95_000, 224_750)
    assert policy.total_premium_fen == 319_750


async def test_binding_without_commercial_cover_charges_the_compulsory_premium_only(
    insurer: InsuranceActivities, sandbox: SandboxControl
) -> None:
    policy = await ActivityEnvironment().run(insurer.bind_policy, bind_input(sandbox.new_order_ref(), commercial=False))

    assert (policy.compulsory_premium_fen, policy.commercial_premium_fen) == (95_000, 0)


async def test_binding_twice_under_one_key_binds_one_policy(
    insurer: InsuranceActivities, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()

    first = await env.run(insurer.bind_policy, bind_input(order_ref))
    again = await env.run(insurer.bind_policy, bind_input(order_ref))

    assert again == first
    assert len((await sandbox.inspect(order_ref))["objects"]) == 1


async def test_cancelling_a_policy_refunds_the_whole_premium_once(
    insurer: InsuranceActivities, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()
    policy = await env.run(insurer.bind_policy, bind_input(order_ref))

    cancelled = await env.run(
        insurer.cancel_policy,
        CancelPolicyInput(key=f"{order_ref}-cancel", order_ref=order_ref, policy_id=policy.policy_id),
    )
    replayed = await env.run(
        insurer.cancel_policy,
        CancelPolicyInput(key=f"{order_ref}-cancel", order_ref=order_ref, policy_id=policy.policy_id),
    )
    cancelled_again = await env.run(
        insurer.cancel_policy,
        CancelPolicyInput(key=f"{order_ref}-cancel-again", order_ref=order_ref, policy_id=policy.policy_id),
    )

    assert (cancelled.cancelled, cancelled.refunded_premium_fen) == (True, 319_750)
    assert replayed == cancelled
    assert (cancelled_again.cancelled, cancelled_again.refunded_premium_fen) == (True, 0)


async def test_an_insurer_refusing_cover_is_a_non_retryable_refusal(
    insurer: InsuranceActivities, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "insurer_refuses")

    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(insurer.bind_policy, bind_input(order_ref))

    assert refused.value.type == ErrorType.PARTNER_REFUSED and refused.value.non_retryable
    assert refused.value.details[0]["type"] == "underwriting_refused"


async def test_cancelling_an_unknown_policy_is_rejected_without_retrying(
    insurer: InsuranceActivities, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()

    with pytest.raises(Exception) as unknown:
        await ActivityEnvironment().run(
            insurer.cancel_policy,
            CancelPolicyInput(key=f"{order_ref}-cancel", order_ref=order_ref, policy_id="pol_unknown"),
        )

    assert isinstance(unknown.value, ApplicationError)
    assert unknown.value.non_retryable and unknown.value.type == ErrorType.PARTNER_REJECTED_REQUEST
    assert "404" in str(unknown.value)
