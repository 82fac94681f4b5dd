"""Battery-operator activities against the real partner sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.battery import BatteryActivities
from carbuy.contract.activities import BatteryContractRef, CreateBatteryContractInput
from carbuy.contract.purchase import ErrorType
from carbuy.runtime.settings import Settings
from tests.fixtures.sandbox import SandboxControl


@pytest.fixture
async def battery(sandbox_settings: Settings) -> AsyncIterator[BatteryActivities]:
    activities = BatteryActivities.from_settings(sandbox_settings)
    yield activities
    await activities.aclose()


def contract_input(order_ref: str) -> CreateBatteryContractInput:
    return CreateBatteryContractInput(
        key=f"{order_ref}-battery",
        order_ref=order_ref,
        customer_name="Han Meimei",
        model="aion-ut-super",
        monthly_rent_fen=59_900,
    )


def ref(order_ref: str, step: str, contract_id: str, vin: str | None = None) -> BatteryContractRef:
    return BatteryContractRef(key=f"{order_ref}-{step}", order_ref=order_ref, contract_id=contract_id, vin=vin)


async def test_a_battery_lease_is_signed_then_activated_at_handover(
    battery: BatteryActivities, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()

    signed = await env.run(battery.create_battery_contract, contract_input(order_ref))
    active = await env.run(
        battery.activate_battery_contract, ref(order_ref, "activate", signed.contract_id, vin="LMGAE1U50TG000001")
    )

    assert signed.status == "signed"
    assert (active.contract_id, active.status) == (signed.contract_id, "active")


async def test_signing_twice_under_one_key_signs_one_lease(battery: BatteryActivities, sandbox: SandboxControl) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()

    first = await env.run(battery.create_battery_contract, contract_input(order_ref))
    again = await env.run(battery.create_battery_contract, contract_input(order_ref))

    assert again.contract_id == first.contract_id
    assert len((await sandbox.inspect(order_ref))["objects"]) == 1


async def test_a_cancelled_lease_cannot_be_activated(battery: BatteryActivities, sandbox: SandboxControl) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()
    signed = await env.run(battery.create_battery_contract, contract_input(order_ref))

    cancelled = await env.run(battery.cancel_battery_contract, ref(order_ref, "cancel", signed.contract_id))
    with pytest.raises(ApplicationError) as refused:
        await env.run(battery.activate_battery_contract, ref(order_ref, "activate", signed.contract_id))

    assert cancelled.status == "cancelled"
    assert refused.value.type == ErrorType.PARTNER_REFUSED and refused.value.non_retryable
    assert refused.value.details[0]["type"] == "contract_cancelled"


async def test_an_operator_refusing_the_customer_is_a_non_retryable_refusal(
    battery: BatteryActivities, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "battery_refused")

    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(battery.create_battery_contract, contract_input(order_ref))

    assert refused.value.type == ErrorType.PARTNER_REFUSED and refused.value.non_retryable
    assert refused.value.details[0]["type"] == "battery_lease_refused"
    assert "battery" in refused.value.message
