"""A quiet bench customer: plays one happy purchase of a plan end to end over the starter API.

It prints nothing, shares pooled HTTP clients with every other customer, pays with cards created before the
measured window, acts on the SMS the purchase sends (read from the partner sandbox's notifier every poll_s) and
reads the status once at the end. It counts its API calls (status reads apart from actions) and times the purchase.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from carbuy.client.api import CustomerAction, StarterClient
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage, PurchaseStatus
from carbuy.devtools.demo import FINAL_STAGES, demo_lock, demo_order
from carbuy.devtools.stripe_cards import GOOD_CARD, create_test_payment_method
from carbuy.runtime.settings import Settings, StripeSettings


@dataclass(frozen=True)
class Cards:
    """The two card payment methods of one purchase: one for the deposit, one for the balance."""

    deposit: str
    balance: str


@dataclass
class PurchaseRun:
    """What one bench customer did and saw."""

    order_id: str
    plan: FinancingPlan
    placed_at: float = 0.0
    """time.monotonic() when the order was sent"""
    ended_at: float | None = None
    """time.monotonic() of the status read that first showed the purchase ended"""
    stage: PurchaseStage | None = None
    status_reads: int = 0
    sms_reads: int = 0
    """reads of the notifier (the partner sandbox), not of carbuy"""
    refused: int = 0
    """actions refused with 409 and sent again"""
    actions: int = 0
    """POSTs: the order and each customer step"""
    acted_at: dict[str, float] = field(default_factory=dict)
    """seconds from placing the order to each action"""

    @property
    def latency_s(self) -> float | None:
        """Seconds from placing the order to seeing it end (the poll interval bounds the error)."""
        return None if self.ended_at is None else self.ended_at - self.placed_at

    @property
    def completed(self) -> bool:
        """Whether the purchase completed."""
        return self.stage is PurchaseStage.COMPLETED


KEEPALIVE_S = 2.0
"""Idle pooled connections are dropped after this: uvicorn closes them after 5 s, and a request sent on one it is
closing fails with ReadError (a driver artefact that failed one purchase of 200 in a run)."""

SMS_VEHICLE_ARRIVED, SMS_READY_FOR_HANDOVER, SMS_COMPLETED = (
    "vehicle_arrived",
    "ready_for_handover",
    "purchase_completed",
)
"""The notification templates the customer acts on."""


def notifier_http(settings: Settings, *, connections: int = 100) -> httpx.AsyncClient:
    """The one pooled client every bench customer reads its SMS with (the partner sandbox's notifier)."""
    return httpx.AsyncClient(
        base_url=settings.partners.base_url,
        timeout=120.0,
        limits=httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=KEEPALIVE_S
        ),
    )


def bench_http(settings: Settings, api_url: str, *, connections: int = 100, timeout_s: float = 120.0) -> StarterClient:
    """The one pooled API client every bench customer shares (the backend's bearer token)."""
    return StarterClient(
        api_url,
        settings.api.backend_token,
        timeout_s=timeout_s,
        limits=httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=KEEPALIVE_S
        ),
    )


def create_payment_methods(stripe: StripeSettings, count: int, *, threads: int = 8) -> list[str]:
    """`count` good test cards, created up front (Stripe calls are blocking: a thread pool; localstripe answers one
    request at a time, so more threads only queue there)."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda _: create_test_payment_method(stripe, card_number=GOOD_CARD), range(count)))


def create_cards(stripe: StripeSettings, count: int) -> list[Cards]:
    """Cards for `count` purchases: a deposit card and a balance card each."""
    ids = create_payment_methods(stripe, 2 * count)
    return [Cards(deposit=ids[2 * i], balance=ids[2 * i + 1]) for i in range(count)]


def bench_order_id(prefix: str = "BENCH") -> str:
    """A fresh order id."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class BenchCustomer:
    """Plays happy purchases as a customer does: pays and locks at once, then acts on the SMS the purchase sends
    (vehicle arrived: pay the balance; ready for handover: accept the car; completed: read the final status).

    The SMS are read from the partner sandbox's notifier, where carbuy's outbox delivers them, so the customer
    costs carbuy no status queries while the purchase runs: the bare side's driver costs it none either.
    """

    def __init__(
        self, api: StarterClient, notifier: httpx.AsyncClient, *, poll_s: float = 0.5, timeout_s: float = 600.0
    ) -> None:
        self.api = api
        self.notifier = notifier
        self.poll_s = poll_s
        self.timeout_s = timeout_s

    async def buy(self, plan: FinancingPlan, cards: Cards, *, order_id: str | None = None) -> PurchaseRun:
        """Place an order of this plan and play it until it ends; raises if the API refuses or time runs out."""
        run = PurchaseRun(order_id or bench_order_id(), plan)
        run.placed_at = time.monotonic()
        deadline = run.placed_at + self.timeout_s
        order = demo_order(plan, order_id=run.order_id)
        response = await self.api.place_order(order)
        run.actions += 1
        _raise_for(response, run)
        await self._act(run, "deposit", {"payment_method": cards.deposit}, deadline)
        await self._act(run, "lock", demo_lock(plan, price_fen=order["price_fen"]), deadline)
        await self._sms(run, SMS_VEHICLE_ARRIVED, deadline)
        await self._act(run, "balance", {"payment_method": cards.balance}, deadline)
        await self._sms(run, SMS_READY_FOR_HANDOVER, deadline)
        await self._act(run, "handover", {"accepted": True}, deadline)
        await self._sms(run, SMS_COMPLETED, deadline)
        while time.monotonic() < deadline:  # the SMS goes out a moment before the purchase closes
            status = await self.status(run)
            if status.stage in FINAL_STAGES:
                run.ended_at, run.stage = time.monotonic(), status.stage
                return run
            await asyncio.sleep(self.poll_s)
        raise TimeoutError(f"purchase {run.order_id} ({plan}) did not end within {self.timeout_s:.0f}s")

    async def _act(self, run: PurchaseRun, path: CustomerAction, body: dict[str, Any], deadline: float) -> None:
        """POST a customer action; a 409 (the purchase is not there yet, e.g. before its first task) is retried."""
        while True:
            response = await self.api.act(run.order_id, path, body)
            run.actions += 1
            if response.status_code != 409 or time.monotonic() > deadline:
                _raise_for(response, run)
                run.acted_at[path] = time.monotonic() - run.placed_at
                return
            run.refused += 1
            await asyncio.sleep(self.poll_s)

    async def _sms(self, run: PurchaseRun, template: str, deadline: float) -> None:
        """Wait until the customer has received the SMS of this template."""
        while time.monotonic() < deadline:
            response = await self.notifier.get("/notifier/messages", params={"order_ref": run.order_id})
            run.sms_reads += 1
            response.raise_for_status()
            if any(m["template"] == template for m in response.json()["messages"]):
                return
            await asyncio.sleep(self.poll_s)
        raise TimeoutError(f"purchase {run.order_id}: no {template} SMS within {self.timeout_s:.0f}s")

    async def status(self, run: PurchaseRun) -> PurchaseStatus:
        """Read the purchase's status (counted as a status read)."""
        response = await self.api.status(run.order_id)
        run.status_reads += 1
        _raise_for(response, run)
        return PurchaseStatus.model_validate(response.json())


def _raise_for(response: httpx.Response, run: PurchaseRun) -> None:
    if response.is_success:
        return
    raise RuntimeError(
        f"{run.order_id} ({run.plan}): {response.request.method} {response.request.url.path} -> "
        f"{response.status_code} {response.text[:300]}"
    )
