"""The chaos runner's ops desk: lists the purchases that need attention and acts as the runbook says."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from carbuy.contract.purchase import PurchaseState, PurchaseStatus
from carbuy.devtools.chaos.api import Api, problem_of, sleep_unless
from carbuy.devtools.demo import DEMO_ID_CARD

CORRECTION_WAIT = "corrected registration data (ops)"
OPERATOR = "chaos-ops"
COOLDOWN_S = 3.0


def ops_action(status: PurchaseStatus) -> str | None:
    """What ops do about a purchase that needs attention (None: nothing, it is someone else's turn)."""
    if status.state is PurchaseState.FAILED and status.failed_undos:
        return "retry"
    waits = status.waiting_for
    if any(w.what == CORRECTION_WAIT for w in waits):
        return "correct-registration"
    if any(w.retryable and w.breached for w in waits):
        return "retry"
    return None


class ChaosOps:
    """Every interval: the stuck list, then one action per purchase of this run that ops can unstick."""

    def __init__(self, api: Api, order_ids: set[str], *, owner_name: str = "Li Lei", interval_s: float = 1.0) -> None:
        self.api = api
        self.order_ids = order_ids
        self.owner_name = owner_name
        self.interval_s = interval_s
        self.actions: Counter[str] = Counter()
        self.refused: list[str] = []
        self._acted_at: dict[str, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Sweep until stop is set."""
        while not stop.is_set():
            await self.sweep()
            await sleep_unless(stop, self.interval_s)

    async def sweep(self) -> None:
        """Act once on every purchase of the run that needs attention and is not cooling down."""
        response = await self.api.call("GET", "/ops/stuck", params={"limit": 1000})
        if response is None or response.status_code != 200:
            return
        now = time.monotonic()
        for row in response.json()["purchases"]:
            order_id = row["order_id"]
            if order_id in self.order_ids and now - self._acted_at.get(order_id, 0.0) > COOLDOWN_S:
                await self._handle(order_id)

    async def _handle(self, order_id: str) -> None:
        shown = await self.api.call("GET", f"/ops/purchases/{order_id}")
        if shown is None or shown.status_code != 200:
            return
        status = PurchaseStatus.model_validate(shown.json()["status"])
        action = ops_action(status)
        if action is None:
            return
        body: dict[str, str] = {"operator": OPERATOR, "reason": f"chaos run: {action}"}
        if action == "correct-registration":
            body |= {"owner_name": self.owner_name, "owner_id_number": DEMO_ID_CARD}
        self._acted_at[order_id] = time.monotonic()
        answer = await self.api.call("POST", f"/ops/purchases/{order_id}/{action}", json=body)
        if answer is None:
            return
        if answer.status_code == 200:
            self.actions[action] += 1
        else:
            self.refused.append(f"{order_id} {action}: {problem_of(answer)}")
