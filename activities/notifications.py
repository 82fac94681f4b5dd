"""Notifications: render an SMS or e-mail from its template into the outbox; the outbox sender sends it."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal, Self
from urllib.parse import quote

import jinja2
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import Activities
from activities.partner_http import PartnerClient
from carbuy.contract.activities import Activity, SendNotificationInput, SendNotificationResult
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.runtime.settings import Settings
from carbuy.store.engines import acquire_engine
from carbuy.store.outbox import OutboxMessage, OutboxMessageCreate, OutboxStore

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates" / "notifications"
TEMPLATE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SUFFIX = {"sms": ".sms.j2", "email": ".email.html.j2"}

TEMPLATE_ERROR = "NotificationTemplateError"
"""ApplicationError type (non-retryable): the template is missing, broken, or lacks a context key."""


def cny(amount_fen: int | str) -> str:
    """An amount in fen as CNY with two decimals: 8990000 -> 'CNY 89,900.00'."""
    return f"CNY {Decimal(int(amount_fen)) / 100:,.2f}"


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready to send."""

    subject: str | None
    body: str


class NotificationRenderer:
    """Renders notification templates: plain text for SMS, autoescaped HTML for e-mail, strict on keys."""

    def __init__(self, directory: Path = TEMPLATES_DIR) -> None:
        self.directory = directory
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            keep_trailing_newline=False,
        )
        self.env.filters["cny"] = cny

    def names(self) -> list[str]:
        """Every template name that has both an SMS and an e-mail version."""
        sms = {p.name.removesuffix(SUFFIX["sms"]) for p in self.directory.glob(f"*{SUFFIX['sms']}")}
        email = {p.name.removesuffix(SUFFIX["email"]) for p in self.directory.glob(f"*{SUFFIX['email']}")}
        return sorted(n for n in sms & email if not n.startswith("_"))

    def render(
        self, *, template: str, channel: Literal["sms", "email"], context: Mapping[str, object]
    ) -> RenderedMessage:
        """Render one message; an e-mail's subject is its template's `subject` block."""
        if not TEMPLATE_NAME.match(template):
            raise jinja2.TemplateNotFound(template)
        compiled = self.env.get_template(template + SUFFIX[channel])
        body = compiled.render(context).strip()
        if channel == "sms":
            return RenderedMessage(subject=None, body=body)
        block = compiled.blocks["subject"](compiled.new_context(dict(context)))
        return RenderedMessage(subject=html.unescape("".join(block)).strip(), body=body)


class NotifierClient(PartnerClient):
    """The SMS and e-mail notifier's API (the outbox sender's only caller)."""

    institution = "notifier"

    async def send(self, message: OutboxMessage) -> str:
        """Send a message from the outbox under its key; the notifier's message id."""
        body = {
            "order_ref": message.order_ref,
            "channel": message.channel,
            "to": message.to,
            "template": message.template,
            "subject": message.subject,
            "body": message.body,
        }
        answer = await self.post("/messages", key=message.key, body=body)
        return str(answer["message_id"])


@dataclass(frozen=True)
class OpsAddress:
    """Where ops messages go and where their links point."""

    notify_to: str
    ui_url: str
    namespace: str

    def workflow_url(self, order_ref: str) -> str:
        """The purchase's page in the Temporal Web UI."""
        workflow_id = quote(purchase_workflow_id(order_ref), safe="")
        return f"{self.ui_url.rstrip('/')}/namespaces/{quote(self.namespace, safe='')}/workflows/{workflow_id}"


class NotificationActivities(Activities):
    """The notification activity: render, then write to the outbox (the outbox sender sends it)."""

    def __init__(
        self, *, outbox: OutboxStore, renderer: NotificationRenderer, ops: OpsAddress, owns_engine: bool = False
    ) -> None:
        self.outbox = outbox
        self.renderer = renderer
        self.ops = ops
        self.owned_engine = outbox.engine if owns_engine else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Built on the process's database engine, with the templates shipped in templates/notifications."""
        ops = OpsAddress(
            notify_to=settings.ops.notify_to, ui_url=settings.temporal.ui_url, namespace=settings.temporal.namespace
        )
        return cls(
            outbox=OutboxStore(acquire_engine(settings.db)), renderer=NotificationRenderer(), ops=ops, owns_engine=True
        )

    @activity.defn(name=Activity.SEND_NOTIFICATION)
    async def send_notification(self, input: SendNotificationInput) -> SendNotificationResult:
        """Render the template with the context (plus order_ref) and put the message in the outbox.

        Ops messages go to the ops team's address and get a link to the purchase in the Temporal UI.
        """
        context: dict[str, object] = {**input.context, "order_ref": input.order_ref}
        to = input.to
        if input.audience == "ops":
            context["workflow_url"] = self.ops.workflow_url(input.order_ref)
            to = self.ops.notify_to
        try:
            message = self.renderer.render(template=input.template, channel=input.channel, context=context)
        except (jinja2.TemplateError, ValueError, TypeError, ArithmeticError) as exc:
            raise ApplicationError(
                f"notification {input.template}.{input.channel}: {exc}", type=TEMPLATE_ERROR, non_retryable=True
            ) from exc
        row = await self.outbox.enqueue(
            OutboxMessageCreate(
                key=input.key,
                order_ref=input.order_ref,
                audience=input.audience,
                channel=input.channel,
                to=to,
                template=input.template,
                subject=message.subject,
                body=message.body,
            )
        )
        activity.logger.info(
            "notification: order %s %s %s queued as outbox #%s", input.order_ref, input.channel, input.template, row.id
        )
        return SendNotificationResult(message_id=f"outbox-{row.id}")
