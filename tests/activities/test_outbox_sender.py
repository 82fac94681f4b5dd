"""The outbox sender against the sandbox's real notifier: each message arrives once, outages wait for later."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from activities.notifications import NotifierClient
from activities.outbox import OutboxSender
from carbuy.runtime.settings import DatabaseSettings, OutboxSettings, Settings
from carbuy.store.db import make_engine, migrate
from carbuy.store.outbox import OutboxMessageCreate, OutboxStore
from tests.eventually import eventually
from tests.fixtures.sandbox import SandboxControl
from tests.store.conftest import postgres_schema

FAST = OutboxSettings(poll_interval_s=0.05, batch_size=7, send_attempts=2, backoff_s=0.01, max_attempts=3)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of the test's own: a sender drains every pending row it can see."""
    with ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'carbuy.db'}"
            if request.param == "sqlite"
            else stack.enter_context(postgres_schema())
        )
        engine = make_engine(DatabaseSettings(url=url))
        migrate(engine)
        yield engine
        engine.dispose()


@pytest.fixture
def store(engine: Engine) -> OutboxStore:
    return OutboxStore(engine)


@pytest.fixture
async def notifier(sandbox_settings: Settings) -> AsyncIterator[NotifierClient]:
    client = NotifierClient.from_settings(sandbox_settings)
    yield client
    await client.aclose()


@pytest.fixture
def sender(store: OutboxStore, notifier: NotifierClient) -> OutboxSender:
    return OutboxSender(store=store, client=notifier, settings=FAST)


async def kept_by_notifier(sandbox_url: str, order_ref: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=sandbox_url) as http:
        response = await http.get("/notifier/messages", params={"order_ref": order_ref})
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()["messages"]
    return messages


async def write(store: OutboxStore, order_ref: str, n: int = 1, body: str = "[carbuy] hello") -> list[str]:
    keys = [f"purchase-{order_ref}:notify:{i}-{uuid.uuid4().hex[:6]}" for i in range(n)]
    for key in keys:
        await store.enqueue(
            OutboxMessageCreate(
                key=key,
                order_ref=order_ref,
                channel="sms",
                to="13800138000",
                template="plate_issued",
                body=f"{body} {key}",
            )
        )
    return keys


async def test_a_drained_message_reaches_the_notifier_once_even_when_drained_twice(
    sender: OutboxSender, store: OutboxStore, sandbox: SandboxControl, sandbox_url: str
) -> None:
    order_ref = sandbox.new_order_ref()
    [key] = await write(store, order_ref)

    first = await sender.drain()
    second = await sender.drain()

    [kept] = await kept_by_notifier(sandbox_url, order_ref)
    [row] = await store.messages_of(order_ref)
    assert (first.sent, second.sent) == (1, 0)
    assert (row.status, row.message_id, row.attempts) == ("sent", kept["message_id"], 1)
    assert (kept["template"], kept["to"], kept["body"]) == ("plate_issued", "13800138000", f"[carbuy] hello {key}")


async def test_two_senders_draining_at_once_deliver_every_message_exactly_once(
    store: OutboxStore, sandbox_settings: Settings, sandbox: SandboxControl, sandbox_url: str
) -> None:
    order_ref = sandbox.new_order_ref()
    keys = await write(store, order_ref, n=30)
    clients = [NotifierClient.from_settings(sandbox_settings) for _ in range(2)]
    senders = [OutboxSender(store=OutboxStore(store.engine), client=client, settings=FAST) for client in clients]
    try:
        reports = await asyncio.gather(*(s.drain() for s in senders), *(s.drain() for s in senders))
    finally:
        for client in clients:
            await client.aclose()

    kept = await kept_by_notifier(sandbox_url, order_ref)
    assert sorted(m["body"].rsplit(" ", 1)[1] for m in kept) == sorted(keys)
    assert sum(r.sent for r in reports) == 30
    assert {row.status for row in await store.messages_of(order_ref)} == {"sent"}


async def test_sending_one_outbox_message_again_under_its_key_keeps_one_copy_at_the_notifier(
    notifier: NotifierClient, store: OutboxStore, sandbox: SandboxControl, sandbox_url: str
) -> None:
    order_ref = sandbox.new_order_ref()
    await write(store, order_ref)
    [row] = await store.messages_of(order_ref)

    ids = {await notifier.send(row), await notifier.send(row)}

    assert len(ids) == 1 and len(await kept_by_notifier(sandbox_url, order_ref)) == 1


async def test_a_notifier_outage_leaves_the_message_pending_and_a_later_round_sends_it(
    sender: OutboxSender, store: OutboxStore, sandbox: SandboxControl, sandbox_url: str
) -> None:
    order_ref = sandbox.new_order_ref()
    await write(store, order_ref)
    await sandbox.fail_next("notifier", times=FAST.send_attempts)

    during = await sender.drain()
    [waiting] = await store.messages_of(order_ref)
    after = await sender.drain()

    assert (during.sent, during.later, waiting.status, waiting.attempts) == (0, 1, "pending", 1)
    assert waiting.last_error is not None and "503" in waiting.last_error
    [row] = await store.messages_of(order_ref)
    assert (after.sent, row.status, row.attempts, row.last_error) == (1, "sent", 2, None)
    assert len(await kept_by_notifier(sandbox_url, order_ref)) == 1


async def test_a_message_still_unsent_after_the_last_round_is_failed(
    store: OutboxStore, notifier: NotifierClient, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    await write(store, order_ref)
    sender = OutboxSender(store=store, client=notifier, settings=FAST.model_copy(update={"max_attempts": 2}))
    await sandbox.fail_next("notifier", times=2 * FAST.send_attempts)

    reports = [await sender.drain(), await sender.drain(), await sender.drain()]

    [row] = await store.messages_of(order_ref)
    assert [(r.later, r.failed) for r in reports] == [(1, 0), (0, 1), (0, 0)]
    assert (row.status, row.attempts) == ("failed", 2)


async def test_a_message_the_notifier_refuses_is_failed_at_once(
    sender: OutboxSender, store: OutboxStore, sandbox: SandboxControl, sandbox_url: str
) -> None:
    order_ref = sandbox.new_order_ref()
    await write(store, order_ref, body="x" * 20_001)  # longer than the notifier takes

    report = await sender.drain()

    [row] = await store.messages_of(order_ref)
    assert (report.failed, row.status, row.attempts) == (1, "failed", 1)
    assert row.last_error is not None and "400" in row.last_error
    assert await kept_by_notifier(sandbox_url, order_ref) == []


async def test_the_running_sender_sends_what_is_written_and_stops_when_asked(
    sender: OutboxSender, store: OutboxStore, sandbox: SandboxControl, sandbox_url: str
) -> None:
    order_ref = sandbox.new_order_ref()
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await write(store, order_ref, n=3)

        async def all_sent() -> None:
            kept = await kept_by_notifier(sandbox_url, order_ref)
            assert len(kept) >= 3, f"the running sender sent {len(kept)} of 3"

        await eventually(all_sent)
    finally:
        stop.set()
        await asyncio.wait_for(running, timeout=5)

    assert running.done() and {row.status for row in await store.messages_of(order_ref)} == {"sent"}
