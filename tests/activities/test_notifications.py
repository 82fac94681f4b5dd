"""Notification activity: every template renders strictly, and the message lands in the outbox once."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.notifications import TEMPLATE_ERROR, NotificationActivities, NotificationRenderer, OpsAddress, cny
from carbuy.contract.activities import SendNotificationInput
from carbuy.runtime.settings import DatabaseSettings
from carbuy.store.db import make_engine, migrate
from carbuy.store.outbox import OutboxStore

Context = dict[str, str | int | None]

CONTEXTS: dict[str, Context] = {
    "deposit_received": {"amount_fen": 10_000, "model": "GAC Aion UT super", "lock_by": "2026-11-18"},
    "order_locked": {
        "model": "GAC Aion UT super",
        "trim": "long-range",
        "colour": "jade green",
        "delivery_centre": "GZ-Tianhe-01",
    },
    "vehicle_allocated": {"model": "GAC Aion UT super", "vin": "LMGAE1U50TG000001"},
    "vehicle_arrived": {"delivery_centre": "GZ-Tianhe-01", "balance_fen": 8_737_288, "pay_by": "2026-12-05"},
    "plate_issued": {"plate": "粤AD12345"},
    "ready_for_handover": {"plate": "粤AD12345", "delivery_centre": "GZ-Tianhe-01"},
    "first_service_reminder": {"due_date": "2027-03-01", "store_id": "store-guangzhou-42"},
    "purchase_completed": {"model": "GAC Aion UT super"},
    "purchase_cancelled": {"reason": "the loan was denied", "refund_fen": 10_000},
    "loan_denied": {"reason": "credit score below threshold", "switch_by": "2026-11-23 09:30 UTC"},
    "loan_documents_required": {"documents": "proof_of_income", "upload_by": "2026-11-23 09:30 UTC"},
    "vehicle_reallocated": {"model": "GAC Aion UT super", "reason": "vehicle damaged in transit: dented front door"},
    "purchase_delayed": {
        "model": "GAC Aion UT super",
        "waiting_for": "the lender's decision",
        "since": "2026-11-20 09:30 UTC",
    },
    "ops_attention": {
        "order_id": "ORD-7",
        "workflow_id": "purchase-ORD-7",
        "stage": "financing",
        "why": "SLA breached: waiting for the lender's decision",
        "since": "2026-11-20 09:30 UTC",
        "city": "Guangzhou",
        "workflow_url": "http://ui.example:8233/namespaces/default/workflows/p-7",
    },
}
ORDER_REF = "ORD-7"
OPS = OpsAddress(notify_to="ops-team@carbuy.example", ui_url="http://ui.example:8233/", namespace="default")


def shown(value: str | int | None, key: str) -> str:
    """How a context value appears in a message (amounts in fen as yuan)."""
    return cny(value) if key.endswith("_fen") and value is not None else str(value)


def rendered(template: str, channel: str, context: Context) -> str:
    message = NotificationRenderer().render(
        template=template,
        channel=channel,  # type: ignore[arg-type]
        context={**context, "order_ref": ORDER_REF},
    )
    return f"{message.subject or ''}\n{message.body}"


def used_keys(template: str, channel: str) -> list[str]:
    """The context keys whose value shows in the message of this channel."""
    text = rendered(template, channel, CONTEXTS[template])
    plain = text.replace("&#39;", "'")
    return [key for key, value in CONTEXTS[template].items() if shown(value, key) in plain]


def test_every_shipped_template_has_a_test_context() -> None:
    assert NotificationRenderer().names() == sorted(CONTEXTS)


@pytest.mark.parametrize("channel", ["sms", "email"])
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_each_template_renders_its_whole_context_on_each_channel(template: str, channel: str) -> None:
    message = NotificationRenderer().render(
        template=template,
        channel=channel,  # type: ignore[arg-type]
        context={**CONTEXTS[template], "order_ref": ORDER_REF},
    )

    assert (message.subject is None) == (channel == "sms")
    assert "{{" not in message.body and "{%" not in message.body
    text = f"{message.subject or ''}\n{message.body}".replace("&#39;", "'")
    assert ORDER_REF in text
    # every context value shows in the e-mail; an SMS may leave the longer ones out
    missing = [key for key, value in CONTEXTS[template].items() if shown(value, key) not in text]
    assert (missing == []) if channel == "email" else (len(missing) <= 2), missing


@pytest.mark.parametrize("channel", ["sms", "email"])
@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_leaving_out_any_key_a_template_uses_fails_instead_of_rendering_blank(template: str, channel: str) -> None:
    keys = used_keys(template, channel)
    assert keys, f"{template}.{channel} shows none of its context"

    for key in keys:
        context = {k: v for k, v in CONTEXTS[template].items() if k != key}
        with pytest.raises(jinja2.UndefinedError, match=key):
            rendered(template, channel, context)


def test_the_delay_message_says_what_is_late_in_plain_words_without_blame() -> None:
    for channel in ("sms", "email"):
        text = re.sub(r"<[^>]+>", "", rendered("purchase_delayed", channel, CONTEXTS["purchase_delayed"]))
        text = text.replace("&#39;", "'")
        assert "waiting for the lender's decision" in text and "since 2026-11-20 09:30 UTC" in text
        assert "longer than planned" in text and "nothing you need to do" in text
        assert not re.search(r"\b(fault|failed|error|blame|SLA)\b", text, re.IGNORECASE)


def test_the_ops_message_links_to_the_purchase_in_the_temporal_ui() -> None:
    message = NotificationRenderer().render(
        template="ops_attention", channel="email", context={**CONTEXTS["ops_attention"], "order_ref": ORDER_REF}
    )

    assert message.subject == "Needs attention: ORD-7 at financing"
    assert f'href="{CONTEXTS["ops_attention"]["workflow_url"]}"' in message.body
    assert "carbuy ops show ORD-7" in message.body


def test_html_e_mails_escape_what_the_context_brings() -> None:
    message = NotificationRenderer().render(
        template="purchase_cancelled",
        channel="email",
        context={"order_ref": "o-1", "reason": "<script>alert(1)</script>", "refund_fen": 0},
    )

    assert "<script>" not in message.body and "&lt;script&gt;" in message.body
    assert message.subject == "Order o-1 is cancelled"


def test_amounts_in_fen_render_as_yuan_with_two_decimals() -> None:
    assert (cny(8_990_000), cny(5), cny("10000")) == ("CNY 89,900.00", "CNY 0.05", "CNY 100.00")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'carbuy.db'}"))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def notifications(engine: Engine) -> NotificationActivities:
    return NotificationActivities(outbox=OutboxStore(engine), renderer=NotificationRenderer(), ops=OPS)


def message(template: str, context: Context, **fields: str) -> SendNotificationInput:
    order_ref = fields.pop("order_ref", f"ORD-{uuid.uuid4().hex[:8]}")
    return SendNotificationInput.model_validate(
        {
            "key": f"purchase-{order_ref}:notify:{template}",
            "order_ref": order_ref,
            "template": template,
            "channel": "sms",
            "to": "13800138000",
            "context": context,
            **fields,
        }
    )


async def test_a_notification_is_written_to_the_outbox_once_even_when_the_activity_runs_twice(
    notifications: NotificationActivities,
) -> None:
    arrived = message("vehicle_arrived", CONTEXTS["vehicle_arrived"])

    first = await ActivityEnvironment().run(notifications.send_notification, arrived)
    again = await ActivityEnvironment().run(notifications.send_notification, arrived)

    [row] = await notifications.outbox.messages_of(arrived.order_ref)
    assert first.message_id == again.message_id == f"outbox-{row.id}"
    assert (row.key, row.status, row.to, row.channel, row.template) == (
        arrived.key,
        "pending",
        "13800138000",
        "sms",
        "vehicle_arrived",
    )
    assert "CNY 87,372.88" in row.body and arrived.order_ref in row.body


async def test_an_ops_message_goes_to_the_ops_address_with_a_link_to_the_purchase(
    notifications: NotificationActivities,
) -> None:
    context = {k: v for k, v in CONTEXTS["ops_attention"].items() if k != "workflow_url"}
    alert = message("ops_attention", context, channel="email", audience="ops", to="ops", order_ref="ORD 7/b")

    await ActivityEnvironment().run(notifications.send_notification, alert)

    [row] = await notifications.outbox.messages_of("ORD 7/b")
    assert (row.to, row.audience) == ("ops-team@carbuy.example", "ops")
    assert row.subject == "Needs attention: ORD-7 at financing"
    assert 'href="http://ui.example:8233/namespaces/default/workflows/purchase-ORD%207%2Fb"' in row.body


async def test_a_missing_context_key_is_a_non_retryable_template_error_and_nothing_is_written(
    notifications: NotificationActivities,
) -> None:
    broken = message("plate_issued", {})

    with pytest.raises(ApplicationError) as error:
        await ActivityEnvironment().run(notifications.send_notification, broken)

    assert error.value.type == TEMPLATE_ERROR and error.value.non_retryable
    assert "plate" in error.value.message
    assert await notifications.outbox.messages_of(broken.order_ref) == []


async def test_an_unknown_template_is_a_non_retryable_template_error(notifications: NotificationActivities) -> None:
    with pytest.raises(ApplicationError) as unknown:
        await ActivityEnvironment().run(notifications.send_notification, message("../secrets", {}))

    assert unknown.value.type == TEMPLATE_ERROR and unknown.value.non_retryable
