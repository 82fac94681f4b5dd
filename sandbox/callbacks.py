"""Asynchronous answers: signed PartnerCallback POSTs, sent later by background tasks, retried on failure."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Collection, Coroutine
from datetime import datetime
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from carbuy.contract.events import INSTITUTION_OF, PartnerCallback, PartnerEventType
from carbuy.contract.institutions import INSTITUTION_OF_SENDER
from carbuy.runtime.signing import SIGNATURE_HEADER, sign
from sandbox.faults import CallbackPlan
from sandbox.state import CallbackRecord, SandboxState, now

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 5.0


class ReceiverUnavailable(Exception):
    """The receiver answered 5xx: worth another try."""


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, ReceiverUnavailable | httpx.TransportError)


class CallbackDispatcher:
    """Runs the partners' background scripts and delivers their callbacks, in order, signed."""

    def __init__(
        self,
        *,
        state: SandboxState,
        secret: str,
        client: httpx.AsyncClient,
    ) -> None:
        self.state = state
        self.secret = secret
        self.client = client
        self.tasks: dict[asyncio.Task[None], str] = {}
        """Each running script and the order it is about."""

    def spawn(self, order_ref: str, script: Coroutine[Any, Any, None]) -> None:
        """Run a partner's script about an order in the background (kept referenced until it ends)."""
        task = asyncio.get_running_loop().create_task(script)
        self.tasks[task] = order_ref
        task.add_done_callback(self._done)

    def running(self, order_ref: str) -> int:
        """How many scripts about the order still run: none left, the order gets no callback until a request."""
        return sum(1 for about in self.tasks.values() if about == order_ref)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("partner script failed", exc_info=task.exception())

    async def pause(self) -> None:
        """Wait the configured callback delay (read now, so a change applies to running scripts)."""
        await asyncio.sleep(self.state.config.callback_delay_s)

    async def pause_until(self, at: datetime) -> None:
        """Wait until a moment, or the callback delay if that moment has passed."""
        remaining = (at - now()).total_seconds()
        if remaining > 0:
            await asyncio.sleep(remaining)
        else:
            await self.pause()

    async def emit(
        self,
        *,
        url: str,
        order_ref: str,
        type: PartnerEventType,
        reference: str,
        data: dict[str, str | int | bool | None] | None = None,
        deliver: bool = True,
    ) -> CallbackRecord:
        """Record one callback and deliver it (with retries); the record tells how delivery went.

        deliver=False plays a silent partner: the callback is recorded as dropped and only sent if its request
        is replayed (see resend). The institution's callback faults may also drop it, deliver it twice, or hold
        it back in the background so the next callback overtakes it.
        """
        callback = PartnerCallback.model_validate(
            {
                "event_id": f"evt_{uuid.uuid4().hex}",
                "institution": INSTITUTION_OF[type],
                "type": type.value,
                "reference": reference,
                "occurred_at": now(),
                "data": data or {},
                "order_ref": order_ref,
            }
        )
        sender = INSTITUTION_OF_SENDER[callback.institution]
        plan = self.state.faults.plan_callback(sender) if deliver else CallbackPlan(drop=True)
        record = CallbackRecord(
            event_id=callback.event_id,
            type=callback.type,
            reference=reference,
            url=url,
            data=callback.data,
            occurred_at=callback.occurred_at,
            status="dropped" if plan.drop else "pending",
        )
        async with self.state.lock:
            self.state.order(order_ref).callbacks.append(record)
        if plan.drop:
            log.info(
                "callback %s %s about %s dropped (%s)",
                callback.type,
                callback.event_id,
                reference,
                "injected" if deliver else "silent partner",
            )
            return record
        if plan.hold_s:
            self.spawn(callback.order_ref, self._deliver_later(plan, callback, record))
            return record
        for _ in range(plan.copies):
            await self._deliver(callback, record)
        return record

    def resend(self, order_ref: str, references: Collection[str]) -> list[CallbackRecord]:
        """Send the lost callbacks about these objects again, and the latest one, as a partner's "resend" does.

        Called under the state lock when a request is replayed: every dropped or failed callback about the objects
        goes out again in its original order, followed by the latest one (also if it was delivered), each under
        its own event id (a receiver that had it drops the duplicate); one still being delivered is not sent
        again. The callbacks that are sent again.
        """
        order = self.state.orders.get(order_ref)
        if order is None or not references:
            return []
        about = [c for c in order.callbacks if c.reference in references]
        again = [c for c in about if c.status in ("dropped", "failed")]
        if about and about[-1].status == "delivered":
            again.append(about[-1])
        if not again:
            return []
        for record in again:
            record.status, record.resends = "pending", record.resends + 1
            log.info(
                "callback %s %s about %s sent again (request replayed)", record.type, record.event_id, record.reference
            )
        self.spawn(order_ref, self._deliver_each([(self._rebuilt(order_ref, record), record) for record in again]))
        return again

    @staticmethod
    def _rebuilt(order_ref: str, record: CallbackRecord) -> PartnerCallback:
        return PartnerCallback.model_validate(
            {
                "event_id": record.event_id,
                "institution": INSTITUTION_OF[PartnerEventType(record.type)],
                "type": record.type,
                "reference": record.reference,
                "occurred_at": record.occurred_at or now(),
                "data": record.data,
                "order_ref": order_ref,
            }
        )

    async def _deliver_each(self, callbacks: list[tuple[PartnerCallback, CallbackRecord]]) -> None:
        for callback, record in callbacks:
            await self._deliver(callback, record)

    async def _deliver_later(self, plan: CallbackPlan, callback: PartnerCallback, record: CallbackRecord) -> None:
        await asyncio.sleep(plan.hold_s)
        log.info(
            "callback %s %s about %s held back %.3fs (injected)",
            callback.type,
            callback.event_id,
            record.reference,
            plan.hold_s,
        )
        await self._deliver_each([(callback, record)] * plan.copies)

    async def _deliver(self, callback: PartnerCallback, record: CallbackRecord) -> None:
        body = callback.model_dump_json().encode()
        config = self.state.config
        retrying = AsyncRetrying(
            stop=stop_after_attempt(config.callback_attempts),
            wait=wait_exponential(multiplier=config.callback_backoff_s, max=MAX_BACKOFF_S),
            retry=retry_if_exception(_transient),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    record.attempts += 1
                    await self._post(record.url, body)
        except (ReceiverUnavailable, httpx.HTTPError) as exc:
            record.status, record.last_error = "failed", f"{type(exc).__name__}: {exc}"
            log.warning(
                "callback %s %s to %s failed after %d attempts: %s",
                callback.type,
                callback.event_id,
                record.url,
                record.attempts,
                record.last_error,
            )
            return
        record.status, record.delivered_at, record.last_error = "delivered", now(), None
        log.info("callback %s %s delivered to %s", callback.type, callback.event_id, record.url)

    async def _post(self, url: str, body: bytes) -> None:
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, self.secret)}
        response = await self.client.post(url, content=body, headers=headers)
        if response.status_code >= 500:
            raise ReceiverUnavailable(f"HTTP {response.status_code}")
        response.raise_for_status()

    async def cancel_all(self) -> None:
        """Stop every running script (reset, shutdown)."""
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
