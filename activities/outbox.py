"""The outbox sender: drains the notification outbox to the notifier (in the worker, or `carbuy outbox drain`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import httpx
from temporalio.exceptions import ApplicationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from activities.notifications import NotifierClient
from carbuy.runtime.settings import OutboxSettings, Settings
from carbuy.store.engines import acquire_engine, release_engine
from carbuy.store.outbox import OutboxMessage, OutboxStore

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0
TRANSIENT = (httpx.TransportError, httpx.HTTPStatusError)
"""Connection errors, timeouts and 5xx (the notifier client turns refusals into ApplicationError)."""

Outcome = Literal["sent", "later", "failed", "lost_claim"]


@dataclass
class DrainReport:
    """What one drain did."""

    sent: int = 0
    later: int = 0
    failed: int = 0

    def add(self, outcome: Outcome) -> None:
        """Count one message's outcome."""
        if outcome == "sent":
            self.sent += 1
        elif outcome == "later":
            self.later += 1
        elif outcome == "failed":
            self.failed += 1


class OutboxSender:
    """Claims pending messages, sends each with the notifier client under its key, and marks it sent.

    Transport errors and 5xx are retried with backoff (tenacity); a message still unsent goes back to pending for
    a later round, and fails for good after `max_attempts` rounds or when the notifier refuses it. Two senders can
    run at once: a message is claimed by one of them, and the notifier's idempotency key covers a takeover.
    """

    def __init__(
        self, *, store: OutboxStore, client: NotifierClient, settings: OutboxSettings, owns_resources: bool = False
    ) -> None:
        self.store = store
        self.client = client
        self.settings = settings
        self._owns_resources = owns_resources

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxSender:
        """A sender on the process's database engine and the configured notifier."""
        return cls(
            store=OutboxStore(acquire_engine(settings.db)),
            client=NotifierClient.from_settings(settings),
            settings=settings.outbox,
            owns_resources=True,
        )

    async def aclose(self) -> None:
        """Close the notifier client and let go of the engine taken by from_settings."""
        if self._owns_resources:
            await self.client.aclose()
            release_engine(self.store.engine)

    async def drain(self) -> DrainReport:
        """Send what is pending now; stops at the first round in which a message had to wait for later."""
        report = DrainReport()
        while True:
            batch = await self.store.claim(
                limit=self.settings.batch_size, claim_timeout=timedelta(seconds=self.settings.claim_timeout_s)
            )
            if not batch:
                return report
            outcomes = await asyncio.gather(*(self._send(message) for message in batch))
            for outcome in outcomes:
                report.add(outcome)
            if "later" in outcomes:
                return report

    async def run(self, stop: asyncio.Event) -> None:
        """Drain every poll interval until stop is set (a failing round is logged, and the next one tries again)."""
        log.info("outbox sender started (every %.1fs)", self.settings.poll_interval_s)
        while not stop.is_set():
            await self.flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.settings.poll_interval_s)
        log.info("outbox sender stopped")

    async def flush(self) -> None:
        """One drain whose failure (say, the database is away) is logged instead of raised."""
        try:
            report = await self.drain()
        except Exception:
            log.exception("outbox drain failed; the next round tries again")
            return
        if report.sent or report.failed or report.later:
            log.info("outbox: %d sent, %d for later, %d failed", report.sent, report.later, report.failed)

    async def _send(self, message: OutboxMessage) -> Outcome:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.send_attempts),
            wait=wait_exponential(multiplier=self.settings.backoff_s, max=MAX_BACKOFF_S),
            retry=retry_if_exception_type(TRANSIENT),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    message_id = await self.client.send(message)
        except ApplicationError as refused:  # the notifier will never take it (4xx): no point trying again
            log.warning("outbox #%s %s refused by the notifier: %s", message.id, message.template, refused)
            await self.store.release(message, error=str(refused), give_up=True)
            return "failed"
        except TRANSIENT as exc:
            give_up = message.attempts >= self.settings.max_attempts
            error = f"{type(exc).__name__}: {exc}"
            log.warning("outbox #%s %s not sent (round %d): %s", message.id, message.template, message.attempts, error)
            await self.store.release(message, error=error, give_up=give_up)
            return "failed" if give_up else "later"
        if not await self.store.mark_sent(message, message_id):
            log.info("outbox #%s was taken over by another sender; the notifier kept one copy", message.id)
            return "lost_claim"
        return "sent"
