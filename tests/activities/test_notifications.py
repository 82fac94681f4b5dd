"""Notification activity: every template renders (strictly) and reaches the sandbox's outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notifications import TEMPLATE_ERROR, NotificationActivities, NotificationRenderer, cny
from carbuy.contract.activities import SendNotificationInput
from carbuy.settings import Settings
from tests.fixtures.sandbox import SandboxControl

CONTEXTS: dict[str, dict[str, str | int | None]] = {
    "deposit_received": {"amount_fen": 10_000, "model": "GAC Aion UT super", "lock_by": "2026-11-18"},
    "order_locked": {"model": "GAC Aion UT super", "trim": "standard", "colour": "green",
                     "delivery_centre": "GZ-Tianhe-01"},
    "vehicle_allocated": {"model": "GAC Aion UT super", "vin": "LMGAE1U50TG000001"},
    "vehicle_arrived": {"delivery_centre": "GZ-Tianhe-01", "balance_fen": 8_737_288, "pay_by": "2026-12-05"},
    "plate_issued": {"plate": "粤AD12345"},
    "ready_for_handover": {"plate": "粤AD12345", "delivery_centre": "GZ-Tianhe-01"},
    "first_service_reminder": {"due_date": "2027-03-01", "store_id": "store-guangzhou-42"},
    "purchase_completed": {"model": "GAC Aion UT super"},
    "purchase_cancelled": {"reason": "the loan was denied", "refund_fen": 10_000},
}


@pytest.fixture
async def notifier(sandbox_settings: Settings) -> AsyncIterator[NotificationActivities]:
    activities = NotificationActivities.from_settings(sandbox_settings)
    yield activities
    await activities.aclose()


def message(order_ref: str, template: str, channel: str, context: dict[str, str | int | None]) -> SendNotificationInput:
    return SendNotificationInput.model_validate({
        "key": f"{order_ref}-{template}-{channel}", "order_ref": order_ref, "template": template, "channel": channel,
        "to": "13800138000" if channel == "sms" else "buyer@example.com", "context": context,
    })


def test_every_shipped_template_has_a_test_context() -> None:
    assert NotificationRenderer().names() == sorted(CONTEXTS)


@pytest.mark.parametrize("channel", ["sms", "email"])
@pytest.mark.parametrize("template", sorted(CONTEXTS))
async def test_each_template_renders_and_is_sent_to_the_outbox(
    notifier: NotificationActivities, sandbox: SandboxControl, sandbox_url: str, template: str, channel: str
) -> None:
    order_ref = sandbox.new_order_ref()

    sent = await ActivityEnvironment().run(
        notifier.send_notification, message(order_ref, template, channel, CONTEXTS[template]))

    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        [kept] = (await http.get("/notifier/messages", params={"order_ref": order_ref})).json()["messages"]
    assert (kept["message_id"], kept["template"], kept["channel"]) == (sent.message_id, template, channel)
    assert order_ref in kept["body"]
    assert (kept["subject"] is None) == (channel == "sms")


async def test_the_arrival_message_asks_for_the_balance_in_yuan(
    notifier: NotificationActivities, sandbox: SandboxControl, sandbox_url: str
) -> None:
    order_ref = sandbox.new_order_ref()

    await ActivityEnvironment().run(
        notifier.send_notification, message(order_ref, "vehicle_arrived", "sms", CONTEXTS["vehicle_arrived"]))

    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        [kept] = (await http.get("/notifier/messages", params={"order_ref": order_ref})).json()["messages"]
    assert "CNY 87,372.88" in kept["body"] and "2026-12-05" in kept["body"]


async def test_a_missing_context_key_is_a_non_retryable_template_error(
    notifier: NotificationActivities, sandbox: SandboxControl
) -> None:
    with pytest.raises(ApplicationError) as broken:
        await ActivityEnvironment().run(
            notifier.send_notification, message(sandbox.new_order_ref(), "plate_issued", "sms", {}))

    assert broken.value.type == TEMPLATE_ERROR and broken.value.non_retryable
    assert "plate" in broken.value.message


async def test_an_unknown_template_is_a_non_retryable_template_error(
    notifier: NotificationActivities, sandbox: SandboxControl
) -> None:
    with pytest.raises(ApplicationError) as unknown:
        await ActivityEnvironment().run(
            notifier.send_notification, message(sandbox.new_order_ref(), "../secrets", "sms", {}))

    assert unknown.value.type == TEMPLATE_ERROR and unknown.value.non_retryable


def test_html_e_mails_escape_what_the_context_brings() -> None:
    rendered = NotificationRenderer().render(
        template="purchase_cancelled", channel="email",
        context={"order_ref": "o-1", "reason": "<script>alert(1)</script>", "refund_fen": 0},
    )

    assert "<script>" not in rendered.body and "&lt;script&gt;" in rendered.body
    assert rendered.subject == "Order o-1 is cancelled"


def test_amounts_in_fen_render_as_yuan_with_two_decimals() -> None:
    assert (cny(8_990_000), cny(5), cny("10000")) == ("CNY 89,900.00", "CNY 0.05", "CNY 100.00")
