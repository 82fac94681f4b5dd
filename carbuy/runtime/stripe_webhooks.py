"""Stripe webhooks: verify and read an event (localstripe's endpoint is registered by carbuy.devtools.localstripe)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import stripe
from pydantic import BaseModel

from carbuy.contract.events import ProcessorEvent

SIGNATURE_HEADER = "Stripe-Signature"
SIGNALLED_TYPES = frozenset({"payment_intent.payment_failed", "charge.refunded", "charge.dispute.created"})
"""The event types a purchase is told about; every other type is stored (finance reconciles against it) and
otherwise ignored. A charge that succeeded is not among them: the purchase's own charge activity confirmed it and
wrote its ledger row, so a signal would only add history events and a workflow task (issue 8)."""


class BadWebhook(ValueError):
    """A webhook whose signature does not verify or whose body is not a Stripe event."""


class StripeEvent(BaseModel):
    """What carbuy reads from a Stripe event."""

    event_id: str
    type: str
    object_id: str
    order_ref: str | None
    payment_intent_id: str | None
    amount_fen: int | None
    created_at: datetime
    payload: dict[str, Any]

    @property
    def signalled(self) -> bool:
        """Whether a purchase is told about events of this type."""
        return self.type in SIGNALLED_TYPES

    def processor_event(self) -> ProcessorEvent:
        """The event as the purchase workflow receives it."""
        return ProcessorEvent(
            event_id=self.event_id,
            type=self.type,
            object_id=self.object_id,
            amount_fen=self.amount_fen,
            occurred_at=self.created_at,
        )


def verify_event(body: bytes, signature: str | None, secret: str) -> StripeEvent:
    """The event in a webhook body, once its Stripe-Signature header verifies against our endpoint's secret."""
    try:
        stripe.WebhookSignature.verify_header(body, signature, secret, tolerance=stripe.Webhook.DEFAULT_TOLERANCE)
    except stripe.SignatureVerificationError as err:
        raise BadWebhook(f"bad signature: {err}") from None
    try:
        payload = json.loads(body)
        return read_event(payload)
    except (ValueError, KeyError, TypeError) as err:
        raise BadWebhook(f"not a Stripe event: {err}") from None


def read_event(payload: dict[str, Any]) -> StripeEvent:
    """The fields carbuy uses from an event's JSON (KeyError/TypeError if it is not an event)."""
    obj: dict[str, Any] = payload["data"]["object"]
    metadata = obj.get("metadata") or {}
    intent = obj.get("payment_intent") if obj.get("object") != "payment_intent" else obj["id"]
    return StripeEvent(
        event_id=str(payload["id"]),
        type=str(payload["type"]),
        object_id=str(obj["id"]),
        order_ref=metadata.get("order_ref"),
        payment_intent_id=intent if isinstance(intent, str) else None,
        amount_fen=_amount(payload["type"], obj),
        created_at=datetime.fromtimestamp(int(payload["created"]), UTC),
        payload=payload,
    )


def _amount(event_type: str, obj: dict[str, Any]) -> int | None:
    """The money the event is about: the refunded amount of a refund, else the object's amount."""
    value = obj.get("amount_refunded") if event_type == "charge.refunded" else obj.get("amount")
    return value if isinstance(value, int) else None
