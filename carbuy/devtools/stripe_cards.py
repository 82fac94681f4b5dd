"""Test cards, and the platform front end's part: turning a card number into a Stripe PaymentMethod id.

Only for the demo and the tests: a real front end collects the card with Stripe.js and never sees its number.
"""

from __future__ import annotations

import stripe

from carbuy.runtime.settings import StripeSettings

GOOD_CARD = "4242424242424242"
"""Charges succeed."""

DECLINED_CARD = "4000000000000002"
"""Refused with card_declined (localstripe refuses it when attached to the customer, Stripe when charged)."""

DECLINED_ON_CHARGE_CARD = "4000000000000341"
"""Attaches to a customer, then is refused with card_declined when the payment is confirmed."""


def create_test_payment_method(settings: StripeSettings, *, card_number: str = GOOD_CARD) -> str:
    """Create a card PaymentMethod as the front end would and return its id (pm_…)."""
    client = stripe.StripeClient(
        settings.api_key,
        base_addresses={"api": settings.api_base} if settings.api_base else None,
        max_network_retries=0,
    )
    payment_method = client.v1.payment_methods.create(
        {
            "type": "card",
            "card": {"number": card_number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return payment_method.id
