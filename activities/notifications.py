"""Customer notifications: render an SMS or e-mail from its template, then send it through the notifier."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, Self

import jinja2
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.partner_http import PartnerClient
from carbuy.contract.activities import Activity, SendNotificationInput, SendNotificationResult
from carbuy.settings import Settings

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
    """The SMS and e-mail outbox's API."""

    institution = "notifier"

    async def send(self, input: SendNotificationInput, message: RenderedMessage) -> SendNotificationResult:
        """Send a rendered message."""
        body = {"order_ref": input.order_ref, "channel": input.channel, "to": input.to, "template": input.template,
                "subject": message.subject, "body": message.body}
        answer = await self.post("/messages", key=input.key, body=body)
        return SendNotificationResult.model_validate(answer)


class NotificationActivities:
    """The notification activity: render, then send."""

    def __init__(self, client: NotifierClient, renderer: NotificationRenderer) -> None:
        self.client = client
        self.renderer = renderer

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Built from the partner settings, with the templates shipped in templates/notifications."""
        return cls(NotifierClient.from_settings(settings), NotificationRenderer())

    def all(self) -> list[Callable[..., Any]]:
        """The bound activities to register."""
        return [self.send_notification]

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()

    @activity.defn(name=Activity.SEND_NOTIFICATION)
    async def send_notification(self, input: SendNotificationInput) -> SendNotificationResult:
        """Render the template with the context (plus order_ref) and send it to the customer."""
        try:
            message = self.renderer.render(template=input.template, channel=input.channel,
                                           context={**input.context, "order_ref": input.order_ref})
        except (jinja2.TemplateError, ValueError, TypeError, ArithmeticError) as exc:
            raise ApplicationError(f"notification {input.template}.{input.channel}: {exc}",
                                   type=TEMPLATE_ERROR, non_retryable=True) from exc
        result = await self.client.send(input, message)
        activity.logger.info("notifier: order %s %s %s sent as %s", input.order_ref, input.channel,
                             input.template, result.message_id)
        return result
