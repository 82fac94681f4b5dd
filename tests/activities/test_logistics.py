"""Carrier activities against the real partner sandbox: shipment events arrive signed and in order."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import ActivityEnvironment

from activities.logistics import LogisticsActivities
from carbuy.contract.activities import BookShipmentInput, CancelShipmentInput
from carbuy.contract.events import PartnerEventType as Event
from carbuy.runtime.settings import DatabaseSettings, Settings
from tests.fixtures.sandbox import CALLBACK_DELAY_S, CallbackSink, SandboxControl


@pytest.fixture
async def carrier(sandbox_settings: Settings, db_url: str) -> AsyncIterator[LogisticsActivities]:
    settings = sandbox_settings.model_copy(update={"db": DatabaseSettings(url=db_url)})
    activities = LogisticsActivities.from_settings(settings)
    yield activities
    await activities.aclose()


def booking(order_ref: str, key: str = "shipment") -> BookShipmentInput:
    return BookShipmentInput(
        key=f"{order_ref}-{key}",
        order_ref=order_ref,
        vin="LMGAE1U50TG000001",
        warehouse="GAC-Panyu-WH1",
        delivery_centre="GZ-Tianhe-01",
    )


async def test_a_shipment_is_picked_up_moves_arrives_and_passes_pdi_in_that_order(
    carrier: LogisticsActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()

    shipment = await ActivityEnvironment().run(carrier.book_shipment, booking(order_ref))

    events = await callback_sink.wait_for(order_ref, until=Event.PDI_PASSED)
    assert [e.type for e in events] == [
        Event.SHIPMENT_PICKED_UP,
        Event.SHIPMENT_IN_TRANSIT,
        Event.SHIPMENT_ARRIVED,
        Event.PDI_PASSED,
    ]
    assert {e.reference for e in events} == {shipment.shipment_id}
    assert [e.institution for e in events] == ["carrier", "carrier", "carrier", "delivery_centre"]
    assert events[1].data["location"] and str(events[1].data["video_url"]).startswith("https://")
    assert events[2].data["location"] == "GZ-Tianhe-01"
    assert shipment.carrier


async def test_booking_twice_under_one_key_books_one_shipment(
    carrier: LogisticsActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()

    first = await env.run(carrier.book_shipment, booking(order_ref))
    again = await env.run(carrier.book_shipment, booking(order_ref))

    assert again == first
    events = await callback_sink.wait_for(order_ref, until=Event.PDI_PASSED)
    assert len(events) == 4


async def test_a_car_damaged_in_transit_is_reported_instead_of_arriving_and_the_next_shipment_arrives(
    carrier: LogisticsActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "damaged_in_transit")
    env = ActivityEnvironment()

    await env.run(carrier.book_shipment, booking(order_ref))
    damaged = await callback_sink.wait_for(order_ref, until=Event.SHIPMENT_DAMAGED)
    await env.run(carrier.book_shipment, booking(order_ref, key="shipment-2"))
    events = await callback_sink.wait_for(order_ref, until=Event.PDI_PASSED)

    assert [e.type for e in damaged] == [Event.SHIPMENT_PICKED_UP, Event.SHIPMENT_IN_TRANSIT, Event.SHIPMENT_DAMAGED]
    assert damaged[-1].data["reason"]
    assert [e.type for e in events[3:]] == [
        Event.SHIPMENT_PICKED_UP,
        Event.SHIPMENT_IN_TRANSIT,
        Event.SHIPMENT_ARRIVED,
        Event.PDI_PASSED,
    ]


async def test_a_failed_pdi_follows_the_arrival(
    carrier: LogisticsActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.choose(order_ref, "pdi_failed")

    await ActivityEnvironment().run(carrier.book_shipment, booking(order_ref))

    events = await callback_sink.wait_for(order_ref, until=Event.PDI_FAILED)
    assert [e.type for e in events][-2:] == [Event.SHIPMENT_ARRIVED, Event.PDI_FAILED]
    assert events[-1].data["reason"]


async def test_cancelling_before_pick_up_is_free_and_stops_the_events(
    carrier: LogisticsActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    await sandbox.configure(callback_delay_s=0.3)
    env = ActivityEnvironment()
    try:
        shipment = await env.run(carrier.book_shipment, booking(order_ref))
        cancelled = await env.run(
            carrier.cancel_shipment,
            CancelShipmentInput(key=f"{order_ref}-cancel", order_ref=order_ref, shipment_id=shipment.shipment_id),
        )
    finally:
        await sandbox.configure(callback_delay_s=CALLBACK_DELAY_S)

    assert (cancelled.cancelled, cancelled.fee_fen) == (True, 0)
    view = await sandbox.quiet(order_ref)
    assert (view["callbacks"], callback_sink.received(order_ref)) == ([], [])


async def test_cancelling_after_pick_up_costs_the_carriers_fee(
    carrier: LogisticsActivities, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    env = ActivityEnvironment()
    shipment = await env.run(carrier.book_shipment, booking(order_ref))
    await callback_sink.wait_for(order_ref, until=Event.SHIPMENT_PICKED_UP)

    cancelled = await env.run(
        carrier.cancel_shipment,
        CancelShipmentInput(key=f"{order_ref}-cancel", order_ref=order_ref, shipment_id=shipment.shipment_id),
    )

    assert (cancelled.cancelled, cancelled.fee_fen) == (True, 20_000)
