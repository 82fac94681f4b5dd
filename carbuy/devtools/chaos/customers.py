"""A chaos customer: plays one PurchasePlan over the starter API, deciding each step from the purchase's status,
so an answer lost to a kill or a restart is simply read again instead of guessed."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from carbuy.contract.purchase import PurchaseStage, PurchaseState, PurchaseStatus
from carbuy.devtools.chaos.api import Api, Cards, problem_of
from carbuy.devtools.chaos.plan import Abandon, CancelPoint, PurchasePlan
from carbuy.devtools.demo import demo_lock, demo_order

# How the workflow words its waits on the customer (workflows/ordering.py, delivery.py, branches.py).
WAIT_DEPOSIT = "the customer to pay the deposit"
WAIT_LOCK = "the customer to lock the order"
WAIT_BALANCE = "the customer to pay the balance"
WAIT_HANDOVER = "the customer to accept the car"
WAIT_SWITCH = "the customer to switch to full payment"
WAIT_DOCUMENTS = "the customer to upload loan documents"

ENDED = (PurchaseStage.COMPLETED, PurchaseStage.CANCELLED)
BROKEN = ("Nondeterminism", "Fatal error in workflow machines")
"""A status query failing with these will never answer again: the worker cannot replay the purchase."""
BEFORE_LOCK = (PurchaseStage.DEPOSIT, PurchaseStage.LOCK)


@dataclass
class CustomerLog:
    """What one customer did and saw."""

    order_id: str
    placed: bool = False
    actions: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    final: PurchaseStatus | None = None
    last: PurchaseStatus | None = None
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    unreadable: str | None = None
    """why the purchase's status can no longer be read (its history does not replay)"""


@dataclass
class _Progress:
    declined: set[str] = field(default_factory=set)
    refused_handover: bool = False
    cancel_sent: bool = False
    cancel_due: float | None = None
    switched: bool = False
    uploaded: bool = False


class ChaosCustomer:
    """One customer with a plan; `play` returns when the purchase has ended or the deadline passed."""

    def __init__(
        self, plan: PurchasePlan, api: Api, sandbox: httpx.AsyncClient, cards: Cards, *, poll_s: float = 0.5
    ) -> None:
        self.plan = plan
        self.api = api
        self.sandbox = sandbox
        self.cards = cards
        self.poll_s = poll_s
        self.rng = random.Random(plan.behaviour_seed)
        self.log = CustomerLog(plan.order_id)
        self.progress = _Progress()

    async def play(self, deadline: float, stop: asyncio.Event) -> CustomerLog:
        """Choose the scenarios, place the order, then act on each status until the purchase ends (or the
        deadline passes, or the run gives up)."""
        if not await self._place(deadline):
            return self.log
        path = f"/purchases/{self.plan.order_id}"
        while time.monotonic() < deadline and not stop.is_set():
            status = await self._status()
            failure = self.api.failures.get(path, "")
            if status is None and any(sign in failure for sign in BROKEN):
                self.log.unreadable = failure
                self.log.problems.append(f"status unreadable: {failure}")
                return self.log
            if status is not None:
                self.log.last = status
                if status.stage in ENDED:
                    self.log.final, self.log.ended = status, time.monotonic()
                    return self.log
                await self._step(status)
            await asyncio.sleep(self.poll_s)
        return self.log

    async def _place(self, deadline: float) -> bool:
        body: dict[str, Any] = demo_order(self.plan.plan, order_id=self.plan.order_id)
        scenarios = {"scenarios": [s.value for s in self.plan.scenarios]}
        while time.monotonic() < deadline:
            try:
                chosen = await self.sandbox.put(f"/_sandbox/orders/{self.plan.order_id}/scenarios", json=scenarios)
                chosen.raise_for_status()
                break
            except httpx.HTTPError:
                await asyncio.sleep(0.5)
        while time.monotonic() < deadline:
            response = await self.api.call("POST", "/orders", json=body)
            if response is None:
                await asyncio.sleep(0.5)
                continue
            if response.status_code in (200, 201):
                self.log.placed = True
                self.log.actions.append("placed")
                return True
            self.log.problems.append(f"order refused: {problem_of(response)}")
            return False
        self.log.problems.append("the order could not be placed before the deadline")
        return False

    async def _watch(self) -> None:
        """Read the status every poll while an action waits for its answer (kept as the last status seen)."""
        while True:
            await asyncio.sleep(self.poll_s)
            if (status := await self._status()) is not None:
                self.log.last = status

    async def _status(self) -> PurchaseStatus | None:
        response = await self.api.call("GET", f"/purchases/{self.plan.order_id}")
        if response is None or response.status_code != 200:
            return None
        return PurchaseStatus.model_validate(response.json())

    async def _step(self, status: PurchaseStatus) -> None:
        """Do what the plan says about what the purchase waits for now (at most one action per status)."""
        plan, done = self.plan, self.progress
        waits = {w.what for w in status.waiting_for}
        if done.cancel_sent or status.state is not PurchaseState.ACTIVE:
            return
        locked = status.stage not in BEFORE_LOCK
        if locked and done.cancel_due is None and plan.cancel_at is not None:
            spread = 0.0 if plan.cancel_at is CancelPoint.LOCKED else self.rng.uniform(0.3, 6.0)
            done.cancel_due = time.monotonic() + spread
        if self._cancels_now(waits):
            await self._cancel()
        elif WAIT_DEPOSIT in waits and plan.abandon_at is not Abandon.DEPOSIT:
            await self._pay("deposit", plan.decline_deposit)
        elif WAIT_LOCK in waits and plan.abandon_at is not Abandon.LOCK:
            await self._act("lock", self._lock_body(status))
        elif WAIT_DOCUMENTS in waits and plan.upload_documents and not done.uploaded:
            done.uploaded = await self._act("loan-documents", {"documents": ["proof_of_income"]})
        elif WAIT_SWITCH in waits and plan.switch_to_full and not done.switched:
            done.switched = await self._act("switch-to-full-payment", {})
        elif WAIT_BALANCE in waits and plan.cancel_at in (None, CancelPoint.HANDOVER):
            await self._pay("balance", plan.decline_balance)
        elif WAIT_HANDOVER in waits and plan.cancel_at is None:
            refuse = plan.refuse_handover_once and not done.refused_handover
            body = {"accepted": False, "reason": "scratch on the bonnet"} if refuse else {"accepted": True}
            if await self._act("handover", body) and refuse:
                done.refused_handover = True

    def _cancels_now(self, waits: set[str]) -> bool:
        cancel_at, due = self.plan.cancel_at, self.progress.cancel_due
        if cancel_at is CancelPoint.DEPOSIT_PAID:
            return WAIT_LOCK in waits
        if cancel_at is CancelPoint.BALANCE:
            return WAIT_BALANCE in waits
        if cancel_at is CancelPoint.HANDOVER:
            return WAIT_HANDOVER in waits
        if cancel_at in (CancelPoint.LOCKED, CancelPoint.BRANCHES) and due is not None:
            return time.monotonic() >= due or bool(waits & {WAIT_BALANCE, WAIT_HANDOVER})
        return False

    def _lock_body(self, status: PurchaseStatus) -> dict[str, Any]:
        return demo_lock(self.plan.plan, price_fen=status.amounts.price)

    async def _pay(self, kind: str, decline_first: bool) -> None:
        declined = decline_first and kind not in self.progress.declined
        card = await (self.cards.declined() if declined else self.cards.good())
        if declined:  # whatever the answer (also none): the next attempt uses the good card
            self.progress.declined.add(kind)
        await self._act(kind, {"payment_method": card}, note="declined card" if declined else "")

    async def _cancel(self) -> None:
        response = await self._send("cancel", {"reason": f"chaos: cancel at {self.plan.cancel_at}"})
        if response is not None:
            self.progress.cancel_sent = response.status_code in (200, 409)

    async def _act(self, path: str, body: dict[str, Any], *, note: str = "") -> bool:
        """Send one action; whether the purchase took it."""
        response = await self._send(path, body, note=note)
        return response is not None and response.status_code == 200

    async def _send(self, path: str, body: dict[str, Any], *, note: str = "") -> httpx.Response | None:
        await asyncio.sleep(self.rng.uniform(0, self.plan.max_delay_s))
        # a front end keeps showing the purchase while an action is answered: those status queries reach the
        # worker while the action's activities run, which is where a query can meet events no task has seen
        watching = asyncio.create_task(self._watch())
        try:
            response = await self.api.call("POST", f"/purchases/{self.plan.order_id}/{path}", json=body)
        finally:
            watching.cancel()
        what = f"{path}{f' ({note})' if note else ''}"
        if response is None:
            self.log.actions.append(f"{what}: unavailable")
        elif response.status_code == 200:
            answer = response.json()
            self.log.actions.append(f"{what}: {answer.get('message')}")
        elif response.status_code == 409:
            self.log.actions.append(f"{what}: refused {problem_of(response)}")
        else:
            self.log.problems.append(f"{what}: {problem_of(response)}")
        return response
