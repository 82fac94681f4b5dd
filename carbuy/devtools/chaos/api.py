"""The starter API and the sandbox's control API as the chaos runner calls them: unavailable is not an error."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from carbuy.client.api import StarterClient
from carbuy.devtools.stripe_cards import DECLINED_CARD, GOOD_CARD, create_test_payment_method
from carbuy.runtime.settings import StripeSettings


class Api:
    """One caller of the starter API (the backend's or ops' token); while Temporal or the worker is down, the
    API answers 5xx or not at all: `call` then returns None and the caller tries again later."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 30.0) -> None:
        self.client = StarterClient(
            base_url,
            token,
            timeout_s=timeout_s,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        self.unavailable = 0
        self.failures: dict[str, str] = {}
        """why each path was last unavailable (cleared when it answers again)"""

    async def call(
        self, method: str, path: str, *, json: Any = None, params: dict[str, str | int] | None = None
    ) -> httpx.Response | None:
        """The answer, or None when the API (or what it stands on) is unavailable right now."""
        try:
            response = await self.client.request(method, path, json=json, params=params)
        except httpx.TransportError as err:
            self.unavailable += 1
            self.failures[path] = f"{type(err).__name__}: {err}"
            return None
        if response.status_code >= 500:
            self.unavailable += 1
            self.failures[path] = problem_of(response)
            return None
        self.failures.pop(path, None)
        return response

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()


class Cards:
    """Card payment methods, made the way the platform's front end makes them (localstripe), on threads of their
    own: the Stripe SDK blocks, and many customers pay at once."""

    def __init__(self, settings: StripeSettings, *, threads: int = 16) -> None:
        self.settings = settings
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="chaos-cards")

    async def good(self) -> str:
        """A card that pays."""
        return await self._create(GOOD_CARD)

    async def declined(self) -> str:
        """A card the processor declines."""
        return await self._create(DECLINED_CARD)

    async def _create(self, number: str) -> str:
        make = functools.partial(create_test_payment_method, self.settings, card_number=number)
        return await asyncio.get_running_loop().run_in_executor(self.executor, make)

    def close(self) -> None:
        """Let the threads go."""
        self.executor.shutdown(wait=False, cancel_futures=True)


async def sleep_unless(event: asyncio.Event, seconds: float) -> bool:
    """Sleep, waking early when the event is set; whether it is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout=seconds)
    return event.is_set()


def problem_of(response: httpx.Response) -> str:
    """An error answer in one line: status and the API's detail."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:200]}"
    detail = body.get("detail", body) if isinstance(body, dict) else body
    return f"{response.status_code} {str(detail)[:300]}"
