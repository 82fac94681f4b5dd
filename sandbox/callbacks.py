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
from carbuy.signing import SIGNATURE_HEADER, sign
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
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, script: Coroutine[Any, Any, None]) -> None:
        """Run a partner's script in the background (kept referenced until it ends)."""
        task = asyncio.get_running_loop().create_task(script)
        self.tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
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
        is replayed (see resend_latest).
        """
        callback = PartnerCallback.model_validate({
            "event_id": f"evt_{uuid.uuid4().hex}",
            "institution": INSTITUTION_OF[type],
            "type": type.value,
            "reference": reference,
            "occurred_at": now(),
            "data": data or {},
            "order_ref": order_ref,
        })
        record = CallbackRecord(
            event_id=callback.event_id, type=callback.type, reference=reference, url=url, data=callback.data,
            occurred_at=callback.occurred_at, status="pending" if deliver else "dropped",
        )
        async with self.state.lock:
            self.state.order(order_ref).callbacks.append(record)
        if not deliver:
            log.info("callback %s %s about %s dropped (silent partner)", callback.type, callback.event_id, reference)
            return record
        for _ in range(self.state.faults.copies_of(callback.institution)):
            await self._deliver(callback, record)
        return record

    def resend_latest(self, order_ref: str, references: Collection[str]) -> CallbackRecord | None:
        """Send the latest callback about these objects again, as a partner's "resend notification" does.

        Called under the state lock when a request is replayed: a dropped, failed or delivered callback goes out
        again with its own event id (a receiver that had it drops the duplicate); one still being delivered does
        not. The callback that was sent again, if any.
        """
        order = self.state.orders.get(order_ref)
        if order is None or not references:
            return None
        latest = next((c for c in reversed(order.callbacks) if c.reference in references), None)
        if latest is None or latest.status == "pending":
            return None
        callback = PartnerCallback.model_validate({
            "event_id": latest.event_id,
            "institution": INSTITUTION_OF[PartnerEventType(latest.type)],
            "type": latest.type,
            "reference": latest.reference,
            "occurred_at": latest.occurred_at or now(),
            "data": latest.data,
            "order_ref": order_ref,
        })
        latest.status, latest.resends = "pending", latest.resends + 1
        log.info("callback %s %s about %s sent again (request replayed)", latest.type, latest.event_id,
                 latest.reference)
        self.spawn(self._deliver(callback, latest))
        return latest

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
            log.warning("callback %s %s to %s failed after %d attempts: %s",
                        callback.type, callback.event_id, record.url, record.attempts, record.last_error)
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
