"""Disruptions of the stack during a chaos run: the worker SIGKILLed and restarted, Temporal stopped and started
again on the same database file and port; then a check that the worker and the API found the server again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

from pydantic import BaseModel
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client
from temporalio.service import RPCError

from carbuy.devtools.chaos.api import Api, sleep_unless
from carbuy.devtools.chaos.plan import Disruption, DisruptionKind
from carbuy.devtools.devstack import DevStack
from carbuy.runtime.temporal import connect

RECOVERY_TIMEOUT_S = 90.0
RETRY_TIMEOUT_S = 60.0


class DisruptionRecord(BaseModel):
    """One disruption as it happened."""

    kind: DisruptionKind
    at_s: float
    """seconds after the purchases started"""
    down_s: float
    """from the kill or stop until the process was up again"""
    recovered_s: float | None = None
    """from up again until the API answered a status query through the worker (None: never)"""
    detail: str = ""
    problem: str | None = None
    held: int = 0
    """worker kill: activity attempts the killed worker was running"""
    retried: int = 0
    """worker kill: how many of them were seen started again (on the restarted worker) within the timeout"""
    first_retry_s: float | None = None
    """worker kill: from the SIGKILL until the first of them was started again"""
    last_retry_s: float | None = None
    """worker kill: from the SIGKILL until the last of them was started again (or had completed)"""


@dataclass(frozen=True)
class _Held:
    workflow_id: str
    activity_id: str
    attempt: int


class Progress:
    """How many customers have started so far (disruptions are spread by it)."""

    def __init__(self) -> None:
        self.started = 0


class Disruptor:
    """Runs the planned disruptions in order while purchases run; the ones left when all have ended are skipped."""

    def __init__(
        self,
        stack: DevStack,
        plan: list[Disruption],
        progress: Progress,
        api: Api,
        active: Callable[[], str | None],
        say: Callable[[str], None],
    ) -> None:
        self.stack = stack
        self.plan = plan
        self.progress = progress
        self.api = api
        self.active = active
        self.say = say
        self.records: list[DisruptionRecord] = []
        self.began = time.monotonic()
        self._client: Client | None = None

    async def run(self, finished: asyncio.Event) -> None:
        """Strike each planned disruption once its moment comes, unless every purchase has ended."""
        self.began = time.monotonic()
        for disruption in self.plan:
            while self.progress.started < disruption.after_started and not finished.is_set():
                await sleep_unless(finished, 0.2)
            if await sleep_unless(finished, disruption.delay_s):
                return
            if disruption.kind is DisruptionKind.WORKER_KILL:
                record = await self._kill_worker(disruption)
            else:
                record = await self._restart_temporal(disruption)
            self.records.append(record)
            recovered = "never" if record.recovered_s is None else f"{record.recovered_s:.1f}s"
            self.say(
                f"{record.kind.value} at {record.at_s:.1f}s: down {record.down_s:.1f}s, recovered in {recovered} "
                f"{record.detail}{f' PROBLEM: {record.problem}' if record.problem else ''}"
            )

    async def _kill_worker(self, disruption: Disruption) -> DisruptionRecord:
        held = await self._running_activities()
        at = time.monotonic()
        worker = self.stack.process("worker")
        pid = worker.pid
        await asyncio.to_thread(worker.kill)
        retries = asyncio.create_task(self._retries(held, at))
        await asyncio.sleep(disruption.downtime_s)
        await asyncio.to_thread(self.stack.restart, "worker")
        problem = await self._worker_ready()
        up = time.monotonic()
        recovered = await self._recovered()
        retried = await retries
        return DisruptionRecord(
            kind=disruption.kind,
            at_s=at - self.began,
            down_s=up - at,
            recovered_s=recovered,
            detail=f"(SIGKILL pid {pid}, new pid {self.stack.process('worker').pid})",
            problem=problem or (None if recovered is not None else "no status query answered after the restart"),
            held=len(held),
            retried=len(retried),
            first_retry_s=min(retried, default=None),
            last_retry_s=max(retried, default=None),
        )

    async def _temporal(self) -> Client:
        if self._client is None:
            self._client = await connect(self.stack.settings)
        return self._client

    async def _pending(self, workflow_id: str) -> dict[str, tuple[int, bool]]:
        """A running purchase's pending activities: id → (attempt, whether an attempt is running now)."""
        description = await (await self._temporal()).get_workflow_handle(workflow_id).describe()
        return {
            a.activity_id: (a.attempt, a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED)
            for a in description.raw_description.pending_activities
        }

    async def _running_activities(self) -> list[_Held]:
        """The activity attempts running right now (on the worker about to be killed), by Temporal's word."""
        try:
            client = await self._temporal()
            held: list[_Held] = []
            async for execution in client.list_workflows("ExecutionStatus = 'Running'"):
                pending = await self._pending(execution.id)
                held += [_Held(execution.id, aid, attempt) for aid, (attempt, running) in pending.items() if running]
            return held
        except RPCError as err:
            self.say(f"could not list the running activities before the kill: {err.message}")
            return []

    async def _finished_retry(self, held: _Held, killed_wall: float) -> float | None:
        """Seconds from the kill until the attempt that completed a held activity started (None: the attempt
        the killed worker held finished it, before the kill)."""
        history = await (await self._temporal()).get_workflow_handle(held.workflow_id).fetch_history()
        scheduled = {
            e.event_id
            for e in history.events
            if e.HasField("activity_task_scheduled_event_attributes")
            and e.activity_task_scheduled_event_attributes.activity_id == held.activity_id
        }
        for event in history.events:
            started = event.activity_task_started_event_attributes
            if (
                event.HasField("activity_task_started_event_attributes")
                and started.scheduled_event_id in scheduled
                and started.attempt > held.attempt
            ):
                return max(event.event_time.ToDatetime(UTC).timestamp() - killed_wall, 0.0)
        return None

    async def _retries(self, held: list[_Held], killed_at: float) -> list[float]:
        """Seconds from the kill until each held activity was started again: seen running with a higher attempt,
        or, once done, by its history (one the killed worker finished before the kill has no time)."""
        seen: dict[_Held, float | None] = {}
        killed_wall = time.time() - (time.monotonic() - killed_at)
        while len(seen) < len(held) and time.monotonic() - killed_at < RETRY_TIMEOUT_S:
            for h in [h for h in held if h not in seen]:
                try:
                    pending = await self._pending(h.workflow_id)
                except RPCError:
                    continue  # Temporal or the purchase is not answering yet
                attempt, running = pending.get(h.activity_id, (None, False))
                if attempt is None:  # done: its history says when the attempt that finished it started
                    seen[h] = await self._finished_retry(h, killed_wall)
                elif attempt > h.attempt and running:
                    seen[h] = time.monotonic() - killed_at
            await asyncio.sleep(0.1)
        return [t for t in seen.values() if t is not None]

    async def _restart_temporal(self, disruption: Disruption) -> DisruptionRecord:
        at = time.monotonic()
        temporal = self.stack.process("temporal")
        await asyncio.to_thread(temporal.stop)
        await asyncio.sleep(disruption.downtime_s)  # partners' callbacks meanwhile fail, and may be given up
        temporal.start()
        await asyncio.to_thread(temporal.wait_until_ready, port=self.stack.temporal_port, timeout_s=60)
        up = time.monotonic()
        recovered = await self._recovered()
        problems = [
            f"{name} exited after the Temporal restart"
            for name in ("worker", "api")
            if not self.stack.process(name).running
        ]
        for name in ("worker", "api"):
            if not self.stack.process(name).running:  # restart it, so the run can go on and say what happened
                await asyncio.to_thread(self.stack.restart, name)
        if recovered is None:
            problems.append("no status query answered after the restart")
        return DisruptionRecord(
            kind=disruption.kind,
            at_s=at - self.began,
            down_s=up - at,
            recovered_s=recovered,
            detail="(SIGTERM, started again on the same --db-filename and port)",
            problem="; ".join(problems) or None,
        )

    async def _worker_ready(self) -> str | None:
        """Wait until the restarted worker serves its metrics (it does so once connected to Temporal)."""
        worker, port = self.stack.process("worker"), self.stack.settings.metrics.worker_port
        if not port:
            return None
        try:
            await asyncio.to_thread(worker.wait_until_ready, url=f"http://127.0.0.1:{port}/metrics", timeout_s=60)
        except (RuntimeError, TimeoutError) as err:
            return f"the worker did not come back: {str(err)[:300]}"
        return None

    async def _recovered(self) -> float | None:
        """Seconds until the API lists stuck purchases (its Temporal client) and answers a running purchase's
        status query (the worker's); None if not within the recovery timeout."""
        start = time.monotonic()
        while time.monotonic() - start < RECOVERY_TIMEOUT_S:
            listed = await self.api.call("GET", "/ops/stuck", params={"limit": 1})
            order_id = self.active()
            queried = order_id is None or (await self.api.call("GET", f"/ops/purchases/{order_id}")) is not None
            if listed is not None and listed.status_code == 200 and queried:
                return time.monotonic() - start
            await asyncio.sleep(0.25)
        return None
