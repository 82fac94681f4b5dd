"""The few Stripe calls carbuy makes, async, through one StripeClient that never retries by itself.

localstripe by default (settings.stripe.api_base), real Stripe when api_base is empty.
"""

from __future__ import annotations

import hashlib
import re

import stripe
from stripe.params import PaymentIntentCreateParams

from carbuy.runtime.settings import StripeSettings
from observability.calls import MeteredStripeHTTPClient

CUSTOMER_EMAIL_DOMAIN = "orders.carbuy.invalid"
"""The domain of every order's Customer email: .invalid (RFC 2606) never resolves, so nothing is ever delivered."""

_SLUG_MAX = 40
_NOT_SLUG = re.compile(r"[^a-z0-9_-]")


def customer_email(order_ref: str) -> str:
    """The Customer email of an order: what finds the order's Customer again after a crash (no PII, never mailed).

    The local part is the order ref lowercased with anything but [a-z0-9_-] made "-" and cut to 40 characters,
    then "." and the first 12 hex digits of the ref's SHA-256: a valid dot-atom of at most 53 characters whatever
    the ref holds, distinct for refs differing only in case or beyond the cut, and lowercase, so Stripe's
    case-sensitive email filter finds it whether or not anything lowercases it on the way.
    CHAOS-2026-00522 → chaos-2026-00522.<12 hex>@orders.carbuy.invalid.
    """
    slug = _NOT_SLUG.sub("-", order_ref.lower())[:_SLUG_MAX] or "order"
    digest = hashlib.sha256(order_ref.encode()).hexdigest()[:12]
    return f"{slug}.{digest}@{CUSTOMER_EMAIL_DOMAIN}"


class StripeGateway:
    """The few Stripe calls carbuy makes, async, through one StripeClient that never retries by itself."""

    def __init__(self, settings: StripeSettings) -> None:
        self.currency = settings.currency
        # localstripe refuses parameters it does not know; real Stripe (no api_base) is told to take cards only,
        # so a server-side confirm never needs a redirect return_url.
        self._cards_only = not settings.api_base
        # Async only: a sync call by mistake fails loudly instead of blocking the worker's event loop.
        self._http = MeteredStripeHTTPClient(timeout=settings.timeout_s)
        self._client = stripe.StripeClient(
            settings.api_key,
            base_addresses={"api": settings.api_base} if settings.api_base else None,
            max_network_retries=0,
            http_client=self._http,
        )

    async def create_customer(self, *, order_ref: str, key: str) -> str:
        """A Customer for one purchase under our key (also its Idempotency-Key), found again by find_customers.

        It carries the order's customer_email and metadata {order_ref, key}, nothing else (no PII goes to Stripe).
        """
        customer = await self._client.v1.customers.create_async(
            {"email": customer_email(order_ref), "metadata": {"order_ref": order_ref, "key": key}},
            {"idempotency_key": key},
        )
        return customer.id

    async def find_customers(self, *, order_ref: str, key: str) -> list[str]:
        """The Customers created under our key for an order, oldest first (ties by id), all pages.

        The list endpoint filtered by email is strongly consistent on real Stripe (the Search API lags by up to a
        minute) and localstripe supports it; the metadata key is checked here, as no list filter takes it.
        """
        page = await self._client.v1.customers.list_async({"email": customer_email(order_ref), "limit": 100})
        found = [c async for c in page.auto_paging_iter() if _metadata(c, "key") == key]
        return [c.id for c in sorted(found, key=lambda c: (c.created, c.id))]

    async def delete_customer(self, customer: str) -> None:
        """Delete a Customer (one nobody uses: nothing was attached to it)."""
        await self._client.v1.customers.delete_async(customer)

    async def attach_payment_method(self, *, payment_method: str, customer: str, idempotency_key: str) -> None:
        """Attach the card to the customer (where cards are checked), unless it is attached already."""
        current = await self._client.v1.payment_methods.retrieve_async(payment_method)
        if _id_of(current.customer) != customer:
            await self._client.v1.payment_methods.attach_async(
                payment_method, {"customer": customer}, {"idempotency_key": idempotency_key}
            )

    async def create_payment_intent(
        self, *, amount_fen: int, customer: str, payment_method: str, metadata: dict[str, str], idempotency_key: str
    ) -> stripe.PaymentIntent:
        """An unconfirmed card PaymentIntent: creating it moves no money."""
        params: PaymentIntentCreateParams = {
            "amount": amount_fen,
            "currency": self.currency,
            "customer": customer,
            "payment_method": payment_method,
            "metadata": metadata,
        }
        if self._cards_only:
            params["allowed_payment_method_types"] = ["card"]
        return await self._client.v1.payment_intents.create_async(params, {"idempotency_key": idempotency_key})

    async def retrieve_payment_intent(self, payment_intent: str) -> stripe.PaymentIntent:
        """A PaymentIntent as Stripe has it now."""
        return await self._client.v1.payment_intents.retrieve_async(payment_intent)

    async def confirm_payment_intent(self, payment_intent: str, *, idempotency_key: str) -> stripe.PaymentIntent:
        """Confirm a PaymentIntent: the card is charged here."""
        return await self._client.v1.payment_intents.confirm_async(
            payment_intent, options={"idempotency_key": idempotency_key}
        )

    async def list_refunds(self, payment_intent: str) -> list[stripe.Refund]:
        """Every refund of a PaymentIntent, all pages."""
        page = await self._client.v1.refunds.list_async({"payment_intent": payment_intent, "limit": 100})
        return [refund async for refund in page.auto_paging_iter()]

    async def create_refund(
        self, *, payment_intent: str, amount_fen: int, metadata: dict[str, str], idempotency_key: str
    ) -> stripe.Refund:
        """Refund part or all of a PaymentIntent."""
        return await self._client.v1.refunds.create_async(
            {"payment_intent": payment_intent, "amount": amount_fen, "metadata": metadata},
            {"idempotency_key": idempotency_key},
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _metadata(obj: stripe.Customer, name: str) -> str | None:
    """A metadata value of a Stripe object, if it has metadata and the value (localstripe may leave it out)."""
    if "metadata" not in obj or obj["metadata"] is None or name not in obj["metadata"]:
        return None
    value = obj["metadata"][name]
    return value if isinstance(value, str) else None


def _id_of(value: str | stripe.Customer | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value.id)
