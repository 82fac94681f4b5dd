"""The whole dev stack (Temporal, localstripe, sandbox, worker, API) on free ports, once per test session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import stripe
from playwright.async_api import Browser, async_playwright
from temporalio.client import Client

from carbuy.devtools.devstack import DevStack, stack_settings
from carbuy.devtools.processes import free_port
from carbuy.runtime.settings import Settings
from carbuy.runtime.temporal import connect
from tests.e2e.stuck import StuckPurchase, stuck_on_silent_lender

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    """The Debian chromium (never a downloaded one)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    """Headless chromium driven by playwright."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(chromium_path), headless=True)
        yield chromium
        await chromium.close()


@dataclass
class Stack:
    """A running stack and what tests need to talk to it."""

    dev: DevStack
    settings: Settings

    @property
    def api_url(self) -> str:
        """The starter API."""
        return self.dev.api_url


def make_stack(state_dir: Path, *, time_scale: float, deadline_floor_s: float) -> DevStack:
    """A stack (not started) on free ports with its state in state_dir, for tests (environment "test")."""
    temporal_port, ui_port, stripe_port = free_port(), free_port(), free_port()
    settings = stack_settings(
        Settings(environment="test"),
        temporal_port=temporal_port,
        ui_port=ui_port,
        localstripe_port=stripe_port,
        api_port=free_port(),
        sandbox_port=free_port(),
        codec_port=free_port(),
        state_dir=state_dir,
        time_scale=time_scale,
        deadline_floor_s=deadline_floor_s,
    )
    settings = settings.model_copy(update={"sandbox": settings.sandbox.model_copy(update={"callback_delay_s": 0.2})})
    return DevStack(settings, state_dir, temporal_port, ui_port, stripe_port)


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """Start the stack with the demo's time scale (90 days of policy become 12 s) and stop it at the end."""
    dev = make_stack(tmp_path_factory.mktemp("stack"), time_scale=12 / (90 * 86_400), deadline_floor_s=60.0)
    await dev.start()
    try:
        yield Stack(dev, dev.settings)
    finally:
        dev.stop()


@pytest.fixture
async def api(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The API as the platform's backend calls it (bearer token)."""
    async with httpx.AsyncClient(
        base_url=stack.api_url, timeout=60.0, headers={"Authorization": f"Bearer {stack.settings.api.backend_token}"}
    ) as client:
        yield client


@pytest.fixture
async def temporal(stack: Stack) -> Client:
    """A client of the stack's Temporal server, to check what the API did (and did not) start."""
    return await connect(stack.settings)


@pytest.fixture(scope="session")
async def stuck_loan(stack: Stack) -> StuckPurchase:
    """One loan purchase stuck on a silent lender (its loan-decision SLA passed), shared by the ops tests.

    Only tests/e2e/test_ui_stuck.py (collected last) acts on it with a retry; the others only read it.
    """
    return await stuck_on_silent_lender(stack.settings, stack.api_url, await connect(stack.settings))


@pytest.fixture
def stripe_client(stack: Stack) -> Iterator[stripe.StripeClient]:
    """The Stripe API of the stack's localstripe."""
    yield stripe.StripeClient(
        stack.settings.stripe.api_key,
        base_addresses={"api": stack.settings.stripe.api_base or ""},
        max_network_retries=0,
    )


def payment_intents_of(client: stripe.StripeClient, order_id: str) -> list[stripe.PaymentIntent]:
    """Every PaymentIntent created for an order (filtered on our side: localstripe refuses most list filters)."""
    found = []
    for intent in client.v1.payment_intents.list({"limit": 100}).auto_paging_iter():
        if intent.metadata is not None and intent.metadata.to_dict().get("order_ref") == order_id:
            found.append(intent)
    return found
