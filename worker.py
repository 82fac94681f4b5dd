"""The worker: composition root of PurchaseWorkflow and every institution's activities.

Run with `python worker.py` (or `carbuy worker`); SIGTERM or SIGINT drains in-flight tasks and exits.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pkgutil
import signal
import sys
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.base import Activities
from activities.heartbeat import HeartbeatInterceptor
from activities.ledger import LedgerActivities
from activities.notifications import NotificationActivities
from activities.outbox import OutboxSender
from activities.payments import PaymentActivities
from activities.reconciliation import ReconciliationActivities
from carbuy.contract.institutions import INSTITUTIONS
from carbuy.runtime.settings import Settings
from carbuy.runtime.temporal import TemporalConnectionError, connect
from observability.logs import configure_logging
from observability.metrics import serve_metrics
from observability.sdk import sdk_runtime
from workflows.registry import WORKFLOWS

log = logging.getLogger("carbuy.worker")


CARBUY_ACTIVITIES: tuple[type[Activities], ...] = (
    PaymentActivities,
    NotificationActivities,
    LedgerActivities,
    ReconciliationActivities,
)
"""carbuy's own activities (Stripe, the outbox, finance's records); the partners' come from the registry."""


def activities_classes() -> list[type[Activities]]:
    """Every activities class to register: carbuy's own and each registered institution's (carbuy/contract)."""
    partners = [pkgutil.resolve_name(i.activities) for i in INSTITUTIONS if i.activities]
    return [*CARBUY_ACTIVITIES, *partners]


LEAN_SANDBOX = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows"))
"""The sandbox, with carbuy's own workflow modules imported once per process instead of once per purchase.

Re-importing them for every new purchase cost the worker about 20 ms of CPU per purchase and every cached purchase
its own copy of their code (issue 8). They hold no mutable module state. The price is that the sandbox no longer
intercepts a non-deterministic call (datetime.now, random, I/O) made by that code: the tests run every workflow
with the default, strict sandbox (tests/workflows), which does, so such a call fails there first.
"""


def build_institutions(settings: Settings) -> list[Activities]:
    """Every activities class, built once with its clients."""
    return [cls.from_settings(settings) for cls in activities_classes()]


def build_worker(client: Client, settings: Settings, institutions: list[Activities]) -> Worker:
    """The worker for carbuy's task queue."""
    return Worker(
        client,
        task_queue=settings.temporal.task_queue,
        workflows=WORKFLOWS,
        activities=[fn for institution in institutions for fn in institution.all()],
        graceful_shutdown_timeout=timedelta(seconds=20),
        workflow_runner=LEAN_SANDBOX,
        interceptors=[HeartbeatInterceptor()],
    )


async def run(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT, then finish in-flight activities and close every client."""
    # two metrics endpoints: the SDK's runtime serves temporal_* and the workflows' carbuy_* metrics, the
    # prometheus-client registry the activities' carbuy_* metrics
    client = await connect(settings, runtime=sdk_runtime(settings.metrics))
    serve_metrics(settings.metrics.host, settings.metrics.worker_port)
    institutions = build_institutions(settings)
    worker = build_worker(client, settings, institutions)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker polling %s on %s", settings.temporal.task_queue, settings.temporal.address)
    sender = OutboxSender.from_settings(settings)
    sending = asyncio.create_task(sender.run(stop), name="outbox-sender")
    async with worker:
        await stop.wait()
        log.info("shutting down: draining in-flight tasks")
    await sending
    await sender.flush()  # what the activities finished during the shutdown wrote
    await sender.aclose()
    for institution in institutions:
        await institution.aclose()
    log.info("worker stopped")


def main() -> None:
    """Entry point of the worker process; exits without interpreter finalisation (sdk-python#300)."""
    configure_logging("worker")
    try:
        asyncio.run(run(Settings()))
    except TemporalConnectionError as error:
        log.error("worker not started: %s", error)
        sys.stderr.write(f"worker not started: {error}\n")  # in words as well as in the JSON log line
        sys.stderr.flush()
        logging.shutdown()
        os._exit(2)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
