"""Counting and timing the worker's HTTP calls to partners and to Stripe, in one place for each client."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping
from typing import Any

import httpx
import stripe

from observability.metrics import outcome_of_status, partner_call

STRIPE = "stripe"


async def metered(institution: str, request: Awaitable[httpx.Response]) -> httpx.Response:
    """Await a partner's HTTP answer, recording the call's outcome and duration (a cancelled call is not counted)."""
    started = time.perf_counter()
    try:
        response = await request
    except httpx.TimeoutException:
        partner_call(institution, "timeout", time.perf_counter() - started)
        raise
    except httpx.TransportError:
        partner_call(institution, "connection_error", time.perf_counter() - started)
        raise
    partner_call(institution, outcome_of_status(response.status_code), time.perf_counter() - started)
    return response


class MeteredStripeHTTPClient(stripe.HTTPXClient):
    """Stripe's async httpx client, recording every request under institution `stripe` (a decline is 402)."""

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        """One request to Stripe, counted and timed."""
        started = time.perf_counter()
        try:
            content, status, response_headers = await super().request_async(method, url, headers, post_data)
        except stripe.APIConnectionError as err:
            outcome = "timeout" if isinstance(err.__cause__, httpx.TimeoutException) else "connection_error"
            partner_call(STRIPE, outcome, time.perf_counter() - started)
            raise
        partner_call(STRIPE, outcome_of_status(status), time.perf_counter() - started)
        return content, status, response_headers
