"""The few Stripe calls carbuy makes, async, through one StripeClient that never retries by itself.

localstripe by default (settings.stripe.api_base), real Stripe when api_base is empty.
"""

from __future__ import annotations

import stripe
from stripe.params import PaymentIntentCreateParams

from carbuy.runtime.settings import StripeSettings
from observability.calls import MeteredStripeHTTPClient


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

    async def create_customer(self, *, order_ref: str, idempotency_key: str) -> str:
        """A Customer for one purchase, carrying the order reference only (no PII goes to Stripe)."""
        customer = await self._client.v1.customers.create_async(
            {"metadata": {"order_ref": order_ref}}, {"idempotency_key": idempotency_key}
        )
        return customer.id

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


def _id_of(value: str | stripe.Customer | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value.id)
