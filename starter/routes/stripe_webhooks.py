"""Signed events from the payment processor (Stripe webhooks): stored once by event id, told to their purchase."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from carbuy.contract.purchase import Signal, purchase_workflow_id
from carbuy.runtime.stripe_webhooks import SIGNATURE_HEADER, BadWebhook, StripeEvent, verify_event
from carbuy.store.processor_events import ProcessorEventRecordCreate, ProcessorEventStore
from starter.deps import ClientDep, EngineDep, SettingsDep
from starter.schemas import Problem

log = logging.getLogger("carbuy.api.stripe")

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


class ProcessorEventReceived(BaseModel):
    """What became of a processor event."""

    event_id: str
    stored: bool = Field(description="false when the event had been received before (a redelivery)")
    purchase_id: str | None = None
    delivered: bool


@router.post(
    "/stripe",
    responses={
        400: {"model": Problem, "description": "bad or missing Stripe-Signature, or not an event; nothing stored"},
        503: {"model": Problem, "description": "stored, but Temporal is unavailable: the processor retries"},
    },
)
async def stripe_webhook(
    request: Request, client: ClientDep, settings: SettingsDep, engine: EngineDep
) -> ProcessorEventReceived:
    """Verify Stripe's signature over the raw body, store the event once, then signal its purchase."""
    try:
        body = await request.body()
        event = verify_event(body, request.headers.get(SIGNATURE_HEADER), settings.stripe.webhook_secret)
    except BadWebhook as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(err)) from None
    store = ProcessorEventStore(engine)
    order_ref = event.order_ref
    if order_ref is None and event.payment_intent_id is not None:
        order_ref = await store.order_ref_of(event.payment_intent_id)
    row, stored = await store.record(_record(event, order_ref))
    purchase_id = purchase_workflow_id(row.order_ref) if row.order_ref else None
    if row.delivered:
        return ProcessorEventReceived(event_id=row.event_id, stored=stored, purchase_id=purchase_id, delivered=True)
    if purchase_id is not None and event.signalled:
        await _signal(client, purchase_id, event)
    await store.mark_delivered(row.event_id)
    return ProcessorEventReceived(event_id=row.event_id, stored=stored, purchase_id=purchase_id, delivered=True)


def _record(event: StripeEvent, order_ref: str | None) -> ProcessorEventRecordCreate:
    return ProcessorEventRecordCreate(
        event_id=event.event_id,
        type=event.type,
        object_id=event.object_id,
        order_ref=order_ref,
        amount_fen=event.amount_fen,
        created_at=event.created_at,
        payload=event.payload,
    )


async def _signal(client: Client, purchase_id: str, event: StripeEvent) -> None:
    """Tell the purchase; a purchase that is unknown or closed is logged and skipped (the event stays stored)."""
    try:
        await client.get_workflow_handle(purchase_id).signal(Signal.PROCESSOR_EVENT.value, event.processor_event())
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            log.info(
                "processor event %s (%s): purchase %s not found or closed: %s",
                event.event_id,
                event.type,
                purchase_id,
                err.message,
            )
            return
        # Left undelivered: the processor redelivers on a 5xx and the redelivery signals again.
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal unavailable: {err.message}") from err
