"""The wait, deadline and SLA engine of one purchase, and the partner events it waits on.

A wait ends when what it waits for is ready, or the purchase stops. At its deadline it either expires (the
caller decides what that means) or flags the SLA breach for ops and waits on; ops may extend every deadline, or
retry, which sends the partner request again under the same idempotency key and restarts the SLA clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow

from workflows import metrics
from workflows.calls import call
from workflows.notify import Notifier
from workflows.patches import OUTAGE_GRACE
from workflows.tracker import Tracker, deadline_left

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import Activity
    from carbuy.contract.events import PartnerEvent, PartnerEventType
    from carbuy.contract.purchase import Wait

R = TypeVar("R", bound=BaseModel)

ARM_AT_LEAST = timedelta(milliseconds=1)
"""The shortest deadline timer a patched wait arms (a timeout of 0 would create no timer at all)."""

LATE_EXPIRY = timedelta(seconds=3)
"""An expiry handled this long after its deadline ran late: Temporal or every worker was down at the deadline, so
the customer's actions could not reach the purchase then (a busy worker is late by well under this)."""

CUSTOMER_WAIT = "the customer "
"""How the description of a wait on the customer begins (see ordering.py and delivery.py)."""


@dataclass(frozen=True)
class Resend:
    """The partner request a wait depends on: an ops retry sends it again under the same idempotency key."""

    activity: Activity
    arg: BaseModel
    result_type: type[BaseModel]
    summary: str


async def call_resendable(activity: Activity, arg: BaseModel, result_type: type[R], summary: str) -> tuple[R, Resend]:
    """Run a partner request whose answer comes by callback; also return how to send it again."""
    return await call(activity, arg, result_type, summary=summary), Resend(activity, arg, result_type, summary)


class Waits:
    """Every wait of one purchase, its partner events, the ops retry rounds and the SLA breaches so far."""

    def __init__(
        self,
        *,
        tracker: Tracker,
        notifier: Notifier,
        stopping: Callable[[], bool],
        checkpoint: Callable[[], None],
        grace: timedelta,
    ) -> None:
        self.tracker, self.notifier = tracker, notifier
        self.grace = grace
        """how long a customer's window reopens when its expiry ran late (OUTAGE_GRACE)"""
        self.stopping, self.checkpoint = stopping, checkpoint
        self.retry_round = 0
        self.breaches = 0
        self.arm_always = False
        """IN_TIME_ACTIONS: a wait with a deadline arms its timer even when what it waits for is there already"""
        self.events: dict[str, PartnerEvent] = {}

    def receive(self, event: PartnerEvent) -> bool:
        """Keep a partner event once (duplicates by event id are dropped); whether it was new."""
        if event.event_id in self.events:
            return False
        self.events[event.event_id] = event
        return True

    def event(self, reference: str, types: Iterable[PartnerEventType]) -> PartnerEvent | None:
        """The first event of one of these types about this partner reference, in arrival order."""
        wanted = {t.value for t in types}
        return next((e for e in self.events.values() if e.reference == reference and e.type in wanted), None)

    async def wait(
        self,
        what: str,
        ready: Callable[[], bool],
        deadline: timedelta | None,
        *,
        expires: bool,
        resend: Resend | None = None,
    ) -> bool:
        """Wait until ready (or a cancellation); at the deadline either expire (False) or flag the SLA breach
        for ops and wait on. Ops may extend the deadline, or retry: the partner request is sent again."""
        wait = self.tracker.waiting(what, deadline, retryable=resend is not None)
        try:
            arrived = await self._wait_loop(wait, ready, deadline, expires=expires, resend=resend)
        except GeneratorExit:
            raise  # the worker evicted the workflow from its cache: nothing to record
        except BaseException:
            self._end_wait(wait)
            raise
        self._end_wait(wait)
        if arrived:
            self.checkpoint()
        return arrived

    async def wait_event(
        self,
        what: str,
        reference: str,
        types: Iterable[PartnerEventType],
        deadline: timedelta | None,
        *,
        resend: Resend | None = None,
    ) -> PartnerEvent:
        """Wait for a partner's callback about a reference (an SLA breach is flagged, the wait goes on)."""
        wanted = tuple(types)
        await self.wait(what, lambda: self.event(reference, wanted) is not None, deadline, expires=False, resend=resend)
        found = self.event(reference, wanted)
        assert found is not None
        return found

    def extend_deadlines(self, by: timedelta) -> int:
        """Push back every current wait's deadline (a breached wait gets a new one); how many waits moved."""
        now = workflow.now()
        for wait in self.tracker.waits:
            wait.deadline = (wait.deadline or now) + by
            wait.breached = False
        self.tracker.show()
        return len(self.tracker.waits)

    def _end_wait(self, wait: Wait) -> None:
        self.tracker.unflag(wait.what)
        self.tracker.done_waiting(wait)

    async def _wait_loop(
        self, wait: Wait, ready: Callable[[], bool], sla: timedelta | None, *, expires: bool, resend: Resend | None
    ) -> bool:
        # Whether what the wait needs is there when it starts can differ between the live run and a replay (a
        # handler runs before the event that opened the wait when both come in one workflow task); the timer
        # ids that follow must not: so, patched, the deadline timer is armed either way (1 ms at the least).
        arm = self.arm_always and wait.deadline is not None
        while arm or not (ready() or self.stopping()):
            seen_round, seen_deadline = self.retry_round, wait.deadline
            timeout = None if wait.deadline is None else deadline_left(wait.deadline)
            if arm and timeout is not None:
                timeout = max(timeout, ARM_AT_LEAST)
            arm = False
            try:
                await workflow.wait_condition(
                    lambda r=seen_round, d=seen_deadline: (
                        ready()
                        or self.stopping()  # type: ignore[misc]
                        or self.retry_round != r
                        or wait.deadline != d
                    ),
                    timeout=timeout,
                )
            except TimeoutError:
                if ready():  # what arrived together with the timer still counts
                    break
                if expires:
                    if self._reopened(wait, seen_deadline):
                        continue
                    return False
                await self._breached(wait)
                continue
            if wait.deadline != seen_deadline:
                until = "no deadline" if wait.deadline is None else f"{wait.deadline:%Y-%m-%d %H:%M} UTC"
                self.tracker.unflag(wait.what, f"deadline of {wait.what} extended to {until}")
            if self.retry_round != seen_round and resend is not None and not (ready() or self.stopping()):
                await self._resend(wait, resend, sla)
        return True

    def _reopened(self, wait: Wait, due: datetime | None) -> bool:
        """A customer's window whose expiry ran late reopens for the grace (OUTAGE_GRACE): whoever tried to act
        while the platform was down gets to act once it is back. Whether the patch applies is asked only here."""
        if due is None or not wait.what.startswith(CUSTOMER_WAIT):
            return False
        late = workflow.now() - due
        if late <= LATE_EXPIRY or not workflow.patched(OUTAGE_GRACE):
            return False
        wait.deadline = workflow.now() + self.grace
        self.tracker.note(
            f"{wait.what}: the window ended while actions could not reach the purchase ({late.total_seconds():.0f} s"
            f" late): open until {wait.deadline:%Y-%m-%d %H:%M} UTC"
        )
        self.tracker.show()
        metrics.window_reopened(self.tracker.stage.value)
        return True

    async def _breached(self, wait: Wait) -> None:
        """The SLA passed: flag the purchase for ops, tell the customer and ops, and wait on without deadline."""
        wait.breached, wait.deadline = True, None
        self.breaches += 1
        metrics.sla_breached(self.tracker.stage.value)
        since = f"{wait.since:%Y-%m-%d %H:%M} UTC"
        self.tracker.flag(wait.what, f"SLA breached: waiting for {wait.what} since {since}", wait.since)
        if not wait.what.startswith(CUSTOMER_WAIT):  # a delay is never blamed on the customer it is sent to
            await self.notifier.notify(
                "purchase_delayed", key=f"delayed-{self.breaches}", waiting_for=wait.what, since=since
            )
        await self.notifier.ops(f"SLA breached: waiting for {wait.what}", since=since, key=f"sla-{self.breaches}")

    async def _resend(self, wait: Wait, resend: Resend, sla: timedelta | None) -> None:
        """An ops retry: send the request again (same key) and restart the SLA clock."""
        await call(resend.activity, resend.arg, resend.result_type, summary=f"ops retry: {resend.summary}")
        wait.breached, wait.deadline = False, None if sla is None else workflow.now() + sla
        self.tracker.unflag(wait.what, f"ops retry: {resend.summary} sent again")
        self.tracker.show()
