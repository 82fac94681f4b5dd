"""Heartbeats for every activity the purchase runs, so a killed worker lets go of it in seconds.

The purchase schedules its activities with a short heartbeat timeout (workflows/calls.py). This worker
interceptor beats for an activity while it runs, four times per timeout: a worker that is SIGKILLed stops
beating, and Temporal times the attempt out after the heartbeat timeout instead of the whole start-to-close
timeout, then retries it on another (or the restarted) worker. Every activity is idempotent by its key, so an
attempt that was only slow, not dead, and is retried meanwhile changes nothing.

An activity that reports its own progress in its heartbeats (finance's reconciliation) is marked with
`heartbeats_itself` and left alone; local activities have no heartbeats.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

F = TypeVar("F", bound=Callable[..., Any])

_SELF_HEARTBEATING = "__carbuy_heartbeats_itself__"
BEATS_PER_TIMEOUT = 4


def heartbeats_itself(fn: F) -> F:
    """Mark an activity that sends its own heartbeats (with progress details): the interceptor skips it."""
    setattr(fn, _SELF_HEARTBEATING, True)
    return fn


class HeartbeatInterceptor(Interceptor):
    """Beat for each running activity scheduled with a heartbeat timeout."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        """Wrap the activity's execution."""
        return _Beating(next)


class _Beating(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        timeout = info.heartbeat_timeout
        if info.is_local or not timeout or getattr(input.fn, _SELF_HEARTBEATING, False):
            return await super().execute_activity(input)
        beating = asyncio.create_task(_beat(timeout.total_seconds() / BEATS_PER_TIMEOUT))
        try:
            return await super().execute_activity(input)
        finally:
            beating.cancel()


async def _beat(every_s: float) -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(every_s)
