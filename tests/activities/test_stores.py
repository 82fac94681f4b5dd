"""After-sales store activities against the real partner sandbox."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from temporalio.testing import ActivityEnvironment

from activities.stores import StoresActivities
from carbuy.contract.activities import BookFirstServiceInput
from carbuy.contract.events import PartnerEventType as Event
from carbuy.runtime.settings import Settings
from tests.fixtures.sandbox import CallbackSink, SandboxControl


@pytest.fixture
async def stores(sandbox_settings: Settings) -> AsyncIterator[StoresActivities]:
    activities = StoresActivities.from_settings(sandbox_settings)
    yield activities
    await activities.aclose()


def booking(order_ref: str, due_at: datetime) -> BookFirstServiceInput:
    return BookFirstServiceInput(
        key=f"{order_ref}-service", order_ref=order_ref, vin="LMGAE1U50TG000001", city="Guangzhou", due_at=due_at
    )


async def test_the_store_reports_the_service_done_at_its_due_time_not_before(
    stores: StoresActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    started = time.monotonic()

    booked = await ActivityEnvironment().run(
        stores.book_first_service, booking(order_ref, datetime.now(UTC) + timedelta(seconds=0.5))
    )

    [done] = await callback_sink.wait_for(order_ref, count=1)
    assert time.monotonic() - started >= 0.45
    assert (done.type, done.institution, done.reference) == (Event.SERVICE_COMPLETED, "store", booked.booking_id)
    assert done.data["store_id"] == booked.store_id


async def test_a_service_already_due_is_reported_after_the_callback_delay(
    stores: StoresActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()

    await ActivityEnvironment().run(
        stores.book_first_service, booking(order_ref, datetime.now(UTC) - timedelta(days=1))
    )

    [done] = await callback_sink.wait_for(order_ref, count=1, timeout_s=2)
    assert done.type == Event.SERVICE_COMPLETED


async def test_booking_twice_under_one_key_books_once(stores: StoresActivities, sandbox: SandboxControl) -> None:
    order_ref = sandbox.new_order_ref()
    due_at = datetime.now(UTC) - timedelta(days=1)
    env = ActivityEnvironment()

    first = await env.run(stores.book_first_service, booking(order_ref, due_at))
    again = await env.run(stores.book_first_service, booking(order_ref, due_at))

    assert again == first
    assert len((await sandbox.inspect(order_ref))["objects"]) == 1
