"""Notifications of one purchase: to the customer (SMS) and to ops (e-mail), through the outbox activity.

A notification that cannot be written is noted on the timeline, never fails the purchase.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from temporalio import workflow

from workflows.calls import BOOKKEEPING_FAILED, NOTIFY_RETRY, bookkeep
from workflows.tracker import Tracker

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import Activity, SendNotificationInput, SendNotificationResult
    from carbuy.contract.order import Order

Context = dict[str, str | int | None]


class Notifier:
    """Sends one purchase's notifications; `about` gives what every customer message may mention."""

    def __init__(
        self,
        *,
        order: Order,
        workflow_id: str,
        tracker: Tracker,
        key: Callable[[str], str],
        about: Callable[[], Context],
    ) -> None:
        self.order, self.workflow_id, self.tracker = order, workflow_id, tracker
        self.key, self.about = key, about

    async def notify(self, template: str, *, key: str | None = None, **context: str | int | None) -> None:
        """Send the customer a notification (SMS)."""
        await self._send(template, key or template, "customer", self.order.customer.phone, {**self.about(), **context})

    async def ops(self, why: str, *, since: str, key: str) -> None:
        """Tell the ops team that this purchase needs a person (to the ops address)."""
        context: Context = {
            "order_id": self.order.order_id,
            "workflow_id": self.workflow_id,
            "stage": self.tracker.stage.value,
            "why": why,
            "since": since,
            "city": self.order.city,
        }
        await self._send("ops_attention", f"ops:{key}", "ops", "ops", context)

    async def _send(
        self, template: str, key: str, audience: Literal["customer", "ops"], to: str, context: Context
    ) -> None:
        channel: Literal["sms", "email"] = "sms" if audience == "customer" else "email"
        try:
            await bookkeep(
                Activity.SEND_NOTIFICATION,
                SendNotificationInput(
                    key=self.key(f"notify:{key}"),
                    order_ref=self.order.order_id,
                    template=template,
                    channel=channel,
                    to=to,
                    audience=audience,
                    context=context,
                ),
                SendNotificationResult,
                summary=f"notify {audience} {template}",
                retry=NOTIFY_RETRY,
            )
        except BOOKKEEPING_FAILED as err:
            self.tracker.note(f"notification {template} not sent: {err.cause or err}")
