"""Stripe's webhooks to the starter: signed, stored once by event id, told to their purchase; from localstripe too."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy import Engine, func
from sqlmodel import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.payments import PaymentActivities
from carbuy.contract.activities import ChargeInput
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import Signal, purchase_workflow_id
from carbuy.devtools.demo import demo_order
from carbuy.devtools.stripe_cards import GOOD_CARD, create_test_payment_method
from carbuy.runtime.stripe_webhooks import SIGNATURE_HEADER
from carbuy.store.db import make_engine, session_scope
from carbuy.store.processor_events import ProcessorEventRecord, get_event
from tests.e2e.conftest import Stack
from tests.eventually import eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def database(stack: Stack) -> Iterator[Engine]:
    """The stack's own database, as the API writes it."""
    engine = make_engine(stack.settings.db)
    yield engine
    engine.dispose()


def event_body(*, order_ref: str | None = None, event_type: str = "payment_intent.succeeded") -> bytes:
    """A Stripe event about a payment intent, as Stripe serialises it."""
    intent: dict[str, Any] = {
        "id": f"pi_{uuid.uuid4().hex[:14]}",
        "object": "payment_intent",
        "amount": 10_000,
        "currency": "cny",
        "status": "succeeded",
        "metadata": {"order_ref": order_ref} if order_ref else {},
    }
    event = {
        "id": f"evt_{uuid.uuid4().hex[:14]}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": intent},
    }
    return json.dumps(event).encode()


def signed(body: bytes, secret: str) -> dict[str, str]:
    """The Stripe-Signature header Stripe would send with this body."""
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), secret)
    return {SIGNATURE_HEADER: header, "Content-Type": "application/json"}


def stored(engine: Engine, event_id: str) -> ProcessorEventRecord | None:
    with session_scope(engine) as session:
        return get_event(session=session, event_id=event_id)


def count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(ProcessorEventRecord)).one()


async def wait_for_event(
    engine: Engine, order_ref: str, event_type: str, timeout_s: float = 20.0
) -> ProcessorEventRecord:
    """The stored event of this type about the order, once it has come and been delivered."""

    def delivered() -> ProcessorEventRecord:
        with session_scope(engine) as session:
            found = session.exec(
                select(ProcessorEventRecord).where(
                    ProcessorEventRecord.order_ref == order_ref, ProcessorEventRecord.type == event_type
                )
            ).all()
        assert found and found[0].delivered, f"no delivered {event_type} for {order_ref}: {found}"
        return found[0]

    record = await eventually(delivered, timeout=timeout_s, interval=0.2)
    with session_scope(engine) as session:  # stored once, also when it came more than once
        stored = session.exec(
            select(ProcessorEventRecord).where(
                ProcessorEventRecord.order_ref == order_ref, ProcessorEventRecord.type == event_type
            )
        ).all()
    assert len(stored) == 1, stored
    return record


async def test_a_bad_or_missing_signature_is_refused_and_nothing_is_stored(stack: Stack, database: Engine) -> None:
    body = event_body(order_ref="ORD-forged")
    event_id = json.loads(body)["id"]
    async with httpx.AsyncClient(base_url=stack.api_url) as http:
        forged = await http.post("/webhooks/stripe", content=body, headers=signed(body, "whsec_not_ours"))
        unsigned = await http.post("/webhooks/stripe", content=body, headers={"Content-Type": "application/json"})
        tampered = await http.post(
            "/webhooks/stripe",
            content=body.replace(b"10000", b"1"),
            headers=signed(body, stack.settings.stripe.webhook_secret),
        )

    assert [r.status_code for r in (forged, unsigned, tampered)] == [400, 400, 400]
    assert "signature" in forged.json()["detail"]
    assert stored(database, event_id) is None


async def test_a_signed_event_is_stored_once_and_a_redelivery_changes_nothing(stack: Stack, database: Engine) -> None:
    order_ref = f"ORD-{uuid.uuid4().hex[:10]}"  # no purchase: stored all the same
    body = event_body(order_ref=order_ref)
    event_id = json.loads(body)["id"]
    headers = signed(body, stack.settings.stripe.webhook_secret)
    async with httpx.AsyncClient(base_url=stack.api_url) as http:
        first = await http.post("/webhooks/stripe", content=body, headers=headers)
        row = stored(database, event_id)
        before = count(database)
        again = await http.post("/webhooks/stripe", content=body, headers=headers)

    assert (first.status_code, first.json()["stored"], first.json()["purchase_id"]) == (
        200,
        True,
        purchase_workflow_id(order_ref),
    )
    assert (again.status_code, again.json()["stored"]) == (200, False)
    assert row is not None and (row.type, row.order_ref, row.amount_fen, row.delivered) == (
        "payment_intent.succeeded",
        order_ref,
        10_000,
        True,
    )
    assert count(database) == before
    assert stored(database, event_id) == row


async def test_localstripe_delivers_a_real_charges_payment_intent_succeeded_to_the_endpoint(
    stack: Stack, database: Engine
) -> None:
    order_ref = f"ORD-{uuid.uuid4().hex[:10]}"
    payments = PaymentActivities.from_settings(stack.settings)
    try:
        paid = await ActivityEnvironment().run(
            payments.charge_payment,
            ChargeInput(
                key=f"purchase-{order_ref}:deposit",
                order_ref=order_ref,
                kind="deposit",
                amount_fen=10_000,
                description="deposit",
                payment_method=create_test_payment_method(stack.settings.stripe, card_number=GOOD_CARD),
            ),
        )
    finally:
        await payments.aclose()

    row = await wait_for_event(database, order_ref, "payment_intent.succeeded")
    assert (row.object_id, row.amount_fen) == (paid.payment_intent_id, 10_000)
    assert row.payload["data"]["object"]["metadata"]["order_ref"] == order_ref


async def test_a_deposit_paid_through_the_api_is_stored_and_a_refund_is_signalled_to_its_purchase(
    stack: Stack, api: httpx.AsyncClient, temporal: Client, database: Engine
) -> None:
    body = demo_order(FinancingPlan.FULL)
    order_id = body["order_id"]
    assert (await api.post("/orders", json=body)).status_code == 201
    card = await asyncio.to_thread(create_test_payment_method, stack.settings.stripe, card_number=GOOD_CARD)
    paid = await api.post(f"/purchases/{order_id}/deposit", json={"payment_method": card})
    assert paid.status_code == 200
    row = await wait_for_event(database, order_id, "payment_intent.succeeded")
    refunded = event_body(order_ref=order_id, event_type="charge.refunded")
    answer = await api.post(
        "/webhooks/stripe", content=refunded, headers=signed(refunded, stack.settings.stripe.webhook_secret)
    )

    handle = temporal.get_workflow_handle(purchase_workflow_id(order_id))
    converter = temporal.data_converter
    signalled = [
        (await converter.decode(list(e.workflow_execution_signaled_event_attributes.input.payloads)))[0]["type"]
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
        and e.workflow_execution_signaled_event_attributes.signal_name == Signal.PROCESSOR_EVENT.value
    ]
    # the charge the purchase confirmed itself is stored for finance, not signalled; a refund it may not know is
    assert row.amount_fen == 10_000 and row.delivered
    assert answer.status_code == 200 and answer.json()["delivered"]
    assert signalled == ["charge.refunded"]
