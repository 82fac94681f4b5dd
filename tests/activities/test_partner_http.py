"""What every partner activity does with the network: retryable failures, and where callbacks go."""

from __future__ import annotations

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.battery import BatteryActivities
from activities.registration import RegistrationActivities
from carbuy.contract.activities import CreateBatteryContractInput, SubmitRegistrationInput
from carbuy.devtools.processes import free_port
from carbuy.runtime.settings import PartnerSettings, Settings
from tests.fixtures.sandbox import CallbackSink, SandboxControl


def contract_input(order_ref: str) -> CreateBatteryContractInput:
    return CreateBatteryContractInput(
        key=f"{order_ref}-battery",
        order_ref=order_ref,
        customer_name="Han Meimei",
        model="aion-ut-super",
        monthly_rent_fen=59_900,
    )


def registration_input(order_ref: str, callback_url: str = "") -> SubmitRegistrationInput:
    return SubmitRegistrationInput(
        key=f"{order_ref}-registration",
        order_ref=order_ref,
        vin="LMGAE1U50TG000001",
        owner_name="Han Meimei",
        owner_id_number="11010519491231002X",
        city="Guangzhou",
        policy_id="pol_1",
        purchase_tax_fen=397_788,
        invoice_number="INV-1",
        callback_url=callback_url,
    )


def assert_retryable(error: BaseException) -> None:
    assert not (isinstance(error, ApplicationError) and error.non_retryable)


async def test_a_partner_5xx_is_raised_as_a_retryable_error_and_the_retry_succeeds(
    sandbox_settings: Settings, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    battery = BatteryActivities.from_settings(sandbox_settings)
    await sandbox.fail_next("battery", times=1, status_code=503)
    try:
        with pytest.raises(httpx.HTTPStatusError) as unavailable:
            await ActivityEnvironment().run(battery.create_battery_contract, contract_input(order_ref))
        retried = await ActivityEnvironment().run(battery.create_battery_contract, contract_input(order_ref))
    finally:
        await battery.aclose()

    assert unavailable.value.response.status_code == 503
    assert_retryable(unavailable.value)
    assert retried.status == "signed"


async def test_an_unreachable_partner_is_a_retryable_connection_error(sandbox: SandboxControl) -> None:
    nowhere = Settings(partners=PartnerSettings(base_url=f"http://127.0.0.1:{free_port()}", timeout_s=2.0))
    battery = BatteryActivities.from_settings(nowhere)
    try:
        with pytest.raises(httpx.ConnectError) as refused:
            await ActivityEnvironment().run(battery.create_battery_contract, contract_input(sandbox.new_order_ref()))
    finally:
        await battery.aclose()

    assert_retryable(refused.value)


async def test_a_slow_partner_times_out_with_a_retryable_error(
    sandbox_settings: Settings, sandbox: SandboxControl
) -> None:
    impatient = sandbox_settings.model_copy(
        update={"partners": sandbox_settings.partners.model_copy(update={"timeout_s": 0.1})}
    )
    battery = BatteryActivities.from_settings(impatient)
    await sandbox.configure(latency_ms=500)
    try:
        with pytest.raises(httpx.TimeoutException) as slow:
            await ActivityEnvironment().run(battery.create_battery_contract, contract_input(sandbox.new_order_ref()))
    finally:
        await sandbox.configure(latency_ms=0)
        await battery.aclose()

    assert_retryable(slow.value)


async def test_the_partner_answers_to_the_configured_webhook_when_the_input_names_none(
    sandbox_settings: Settings, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    registry = RegistrationActivities.from_settings(sandbox_settings)
    try:
        await ActivityEnvironment().run(registry.submit_registration, registration_input(order_ref))
    finally:
        await registry.aclose()

    await callback_sink.wait_for(order_ref, count=1)
    [callback] = (await sandbox.inspect(order_ref))["callbacks"]
    assert callback["url"] == callback_sink.url


async def test_the_partner_answers_to_the_inputs_callback_url_when_given(
    sandbox_settings: Settings, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    own_url = f"{callback_sink.url}?purchase={order_ref}"
    registry = RegistrationActivities.from_settings(sandbox_settings)
    try:
        await ActivityEnvironment().run(registry.submit_registration, registration_input(order_ref, own_url))
    finally:
        await registry.aclose()

    await callback_sink.wait_for(order_ref, count=1)
    [callback] = (await sandbox.inspect(order_ref))["callbacks"]
    assert (callback["url"], callback["status"]) == (own_url, "delivered")
