"""The payment processor's side: Stripe PaymentIntents and Refunds of a day, read through the list API.

Stripe's list API is paged (auto-pagination fetches one page of `page_size` at a time, so memory stays flat).
The day and carbuy's metadata are filtered on our side: a local Stripe server refuses the `created` filter.
Real Stripe lists newest first, so reading stops at the first object older than the day; a local server lists
in creation order and is read to its end (it holds little).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Protocol

import stripe

from carbuy.finance.model import ProcessorObject
from carbuy.runtime.settings import StripeSettings

CHARGE_KINDS = frozenset({"deposit", "balance"})
SETTLED_REFUND_STATUSES = frozenset({"pending", "requires_action", "succeeded"})
"""Refunds that took money back (or will): the same statuses the refund activity counts."""


class ProcessorSource(Protocol):
    """What reconciliation reads from a payment processor."""

    skipped: int
    """Objects of the day seen without carbuy's metadata (not carbuy's money)."""

    def objects(self, start: datetime, end: datetime) -> Iterator[ProcessorObject]:
        """Every settled carbuy charge, then every settled refund, created in [start, end)."""
        ...

    def find(self, reference: str) -> ProcessorObject | None:
        """One PaymentIntent (pi_…) or Refund (re_…) by id, whatever its day or metadata; None if unknown."""
        ...


def _field(obj: Any, name: str) -> Any:
    """A field of a Stripe object that may be absent (Stripe objects are not dicts: no .get)."""
    return obj[name] if obj is not None and name in obj else None


def _meta(obj: Any, name: str) -> str:
    value = _field(_field(obj, "metadata"), name)
    return value if isinstance(value, str) else ""


def _amount_paid(intent: Any) -> int:
    """What the intent took from the card (a local server has no amount_received: a succeeded one took it all)."""
    if "amount_received" in intent:
        return int(intent["amount_received"])
    return int(intent["amount"]) if intent["status"] == "succeeded" else 0


def charge_of(intent: Any) -> ProcessorObject:
    """A PaymentIntent as reconciliation sees it."""
    kind = _meta(intent, "kind")
    return ProcessorObject(
        object="charge",
        reference=intent["id"],
        order_ref=_meta(intent, "order_ref"),
        key=_meta(intent, "key"),
        kind=f"{kind}_charged" if kind in CHARGE_KINDS else None,
        amount_fen=_amount_paid(intent),
        created=int(intent["created"]),
        settled=intent["status"] == "succeeded",
        status=str(intent["status"]),
    )


def refund_of(refund: Any, intent: Any) -> ProcessorObject:
    """A Refund as reconciliation sees it, judged against the PaymentIntent it refunds (None: it has none)."""
    charge = charge_of(intent) if intent is not None else None
    order_ref = _meta(refund, "order_ref") or (charge.order_ref if charge else "")
    charge_ok = (
        charge is not None
        and charge.settled
        and charge.kind is not None
        and bool(charge.key)
        and charge.order_ref == order_ref
    )
    kind = charge.kind.replace("_charged", "_refunded") if charge and charge.kind else None
    return ProcessorObject(
        object="refund",
        reference=refund["id"],
        order_ref=order_ref,
        key=_meta(refund, "key"),
        kind=kind,
        amount_fen=int(refund["amount"]),
        created=int(refund["created"]),
        settled=refund["status"] in SETTLED_REFUND_STATUSES,
        status=str(refund["status"]),
        charge_ref=charge.reference if charge else None,
        charge_ok=charge_ok,
    )


class StripeProcessor:
    """Stripe (or a local Stripe server) through the official SDK's synchronous list and retrieve calls."""

    def __init__(self, settings: StripeSettings, *, page_size: int = 100) -> None:
        self.skipped = 0
        self._page_size = page_size
        self._newest_first = not settings.api_base
        self._http = stripe.HTTPXClient(timeout=settings.timeout_s, allow_sync_methods=True)
        # Reads only: a page that fails now and then is fetched again here rather than restarting a long run.
        self._client = stripe.StripeClient(
            settings.api_key,
            base_addresses={"api": settings.api_base} if settings.api_base else None,
            max_network_retries=2,
            http_client=self._http,
        )

    def objects(self, start: datetime, end: datetime) -> Iterator[ProcessorObject]:
        """Every settled carbuy charge, then every settled refund, created in [start, end)."""
        low, high = int(start.timestamp()), int(end.timestamp())
        intents = self._client.v1.payment_intents.list({"limit": self._page_size})
        for intent in intents.auto_paging_iter():
            if self._past(intent.created, low):
                break
            if low <= intent.created < high:
                charge = charge_of(intent)
                if not (charge.order_ref and charge.key and charge.kind):
                    self.skipped += 1
                elif charge.settled:
                    yield charge
        refunds = self._client.v1.refunds.list({"limit": self._page_size, "expand": ["data.payment_intent"]})
        for refund in refunds.auto_paging_iter():
            if self._past(refund.created, low):
                break
            if low <= refund.created < high:
                seen = refund_of(refund, self._intent_of(refund))
                if not seen.order_ref:
                    self.skipped += 1
                elif seen.settled:
                    yield seen

    def find(self, reference: str) -> ProcessorObject | None:
        """One PaymentIntent (pi_…) or Refund (re_…) by id, whatever its day or metadata; None if unknown."""
        try:
            if reference.startswith("pi_"):
                return charge_of(self._client.v1.payment_intents.retrieve(reference))
            if reference.startswith("re_"):
                refund = self._client.v1.refunds.retrieve(reference, {"expand": ["payment_intent"]})
                return refund_of(refund, self._intent_of(refund))
        except stripe.InvalidRequestError as error:
            if error.http_status == 404:
                return None
            raise
        return None

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()  # type: ignore[no-untyped-call]

    def _past(self, created: int, low: int) -> bool:
        """Newest first: the first object older than the day ends it."""
        return self._newest_first and created < low

    def _intent_of(self, refund: Any) -> Any:
        """The refunded PaymentIntent, expanded in the listing; fetched when a server did not expand it."""
        intent = _field(refund, "payment_intent")
        if isinstance(intent, str):
            try:
                return self._client.v1.payment_intents.retrieve(intent)
            except stripe.InvalidRequestError as error:
                if error.http_status == 404:
                    return None
                raise
        return intent
