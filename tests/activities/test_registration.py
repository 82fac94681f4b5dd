"""Registry activities against the real partner sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import ActivityEnvironment

from activities.registration import RegistrationActivities
from carbuy.contract.activities import SubmitRegistrationInput
from carbuy.contract.events import PartnerEventType as Event
from carbuy.runtime.settings import Settings
from tests.fixtures.sandbox import CallbackSink, SandboxControl


@pytest.fixture
async def registry(sandbox_settings: Settings) -> AsyncIterator[RegistrationActivities]:
    activities = RegistrationActivities.from_settings(sandbox_settings)
    yield activities
    await activities.aclose()


def submission(order_ref: str, key: str = "registration", owner_name: str = "Han Meimei") -> SubmitRegistrationInput:
    return SubmitRegistrationInput(
        key=f"{order_ref}-{key}",
        order_ref=order_ref,
        vin="LMGAE1U50TG000001",
        owner_name=owner_name,
        owner_id_number="11010519491231002X",
        city="Guangzhou",
        policy_id="pol_1",
        purchase_tax_fen=397_788,
        invoice_number="INV-1",
    )


async def test_a_registration_comes_back_with_a_guangzhou_plate(
    registry: RegistrationActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()

    filed = await ActivityEnvironment().run(registry.submit_registration, submission(order_ref))

    [issued] = await callback_sink.wait_for(order_ref, count=1)
    assert filed.status == "submitted"
    assert (issued.type, issued.institution, issued.reference) == (Event.PLATE_ISSUED, "registry", filed.application_id)
    plate = issued.data["plate"]
    assert isinstance(plate, str) and plate.startswith("粤AD") and len(plate) == 8


async def test_submitting_twice_under_one_key_files_once_and_issues_one_plate(
    registry: RegistrationActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()

    first = await env.run(registry.submit_registration, submission(order_ref))
    again = await env.run(registry.submit_registration, submission(order_ref))

    assert again == first
    await callback_sink.wait_for(order_ref, count=1)
    view = await sandbox.inspect(order_ref)
    assert (len(view["requests"]), len(view["callbacks"])) == (1, 1)


async def test_a_rejected_registration_gives_its_reason_and_a_fixed_resubmission_gets_a_plate(
    registry: RegistrationActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "registration_rejected")
    env = ActivityEnvironment()

    first = await env.run(registry.submit_registration, submission(order_ref))
    [rejected] = await callback_sink.wait_for(order_ref, count=1)
    second = await env.run(
        registry.submit_registration, submission(order_ref, key="registration-2", owner_name="Han Mei-mei")
    )
    callbacks = await callback_sink.wait_for(order_ref, count=2)

    assert (rejected.type, rejected.reference, rejected.data) == (
        Event.REGISTRATION_REJECTED,
        first.application_id,
        {"reason": "name mismatch"},
    )
    assert (callbacks[1].type, callbacks[1].reference) == (Event.PLATE_ISSUED, second.application_id)
