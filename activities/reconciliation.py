"""Finance's reconciliation as an activity: one day compared, reported and stored, heartbeating its progress.

The work is synchronous (the database, Stripe's list API, the lender's file) and long, so it runs in a thread
while the activity's coroutine heartbeats the latest progress; a cancelled activity stops the thread at its
next progress report instead of leaving it to run on.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Self

from sqlalchemy import Engine
from temporalio import activity

from activities.base import Activities
from activities.heartbeat import heartbeats_itself
from carbuy.contract.finance import RECONCILE_DAY_ACTIVITY, DiscrepancyType, ReconcileDayInput, ReconcileResult
from carbuy.finance.run import reconcile_and_keep
from carbuy.runtime.settings import Settings
from carbuy.store.engines import acquire_engine
from observability.metrics import reconciliation_discrepancies

HEARTBEAT_EVERY_S = 5.0


class ReconciliationCancelled(Exception):
    """The activity was cancelled: the reconciliation thread stops where it is."""


class ReconciliationActivities(Activities):
    """The reconciliation activity; holds the settings and the shared database engine."""

    def __init__(self, settings: Settings, engine: Engine, *, owned: bool = False) -> None:
        self.settings = settings
        self.engine = engine
        self.owned_engine = engine if owned else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Built on the process's shared (migrated) engine."""
        return cls(settings, acquire_engine(settings.db), owned=True)

    @activity.defn(name=RECONCILE_DAY_ACTIVITY)
    @heartbeats_itself
    async def reconcile_day(self, input: ReconcileDayInput) -> ReconcileResult:
        """Compare the day's ledger with Stripe and the lender, store the report, return the counts."""
        latest: dict[str, Any] = {"phase": "starting", "done": 0, "total": None}
        stop = threading.Event()

        def progress(phase: str, done: int, total: int | None) -> None:
            if stop.is_set():
                raise ReconciliationCancelled(f"cancelled during {phase}")
            latest.update(phase=phase, done=done, total=total)

        beating = asyncio.create_task(self._heartbeat(latest))
        try:
            report = await asyncio.to_thread(
                reconcile_and_keep, self.settings, self.engine, input.day, progress=progress
            )
        except asyncio.CancelledError:
            stop.set()
            raise
        finally:
            beating.cancel()
        result = report.result()
        # every type, zeros included, so the alert on this gauge also resolves on a clean day
        reconciliation_discrepancies({t.value: result.by_type.get(t, 0) for t in DiscrepancyType})
        activity.logger.info(
            "reconciled %s: %d movements, %d discrepancies", input.day, result.movements, result.discrepancies
        )
        return result

    @staticmethod
    async def _heartbeat(latest: dict[str, Any]) -> None:
        while True:
            activity.heartbeat(dict(latest))
            await asyncio.sleep(HEARTBEAT_EVERY_S)
