"""The notifier: an SMS and e-mail outbox that keeps every message sent."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, Field

from sandbox.deps import StateDep
from sandbox.errors import POST_ERRORS
from sandbox.routing import IdempotencyKey
from sandbox.schemas import OrderRequest, partner_router
from sandbox.state import PartnerObject, new_id

router = partner_router("notifier", "SMS and e-mail")


class MessageCreate(OrderRequest):
    """A rendered message to send."""

    channel: Literal["sms", "email"]
    to: str = Field(min_length=1, max_length=254)
    template: str = Field(min_length=1, max_length=64, description="for the record: which template made it")
    subject: str | None = Field(default=None, max_length=200)
    body: str = Field(min_length=1, max_length=20_000)


class Message(PartnerObject):
    """A sent message."""

    kind = "message"

    status: Literal["sent"] = "sent"
    channel: Literal["sms", "email"]
    to: str
    template: str
    subject: str | None
    body: str


class MessagePublic(MessageCreate):
    """A message as the outbox shows it."""

    message_id: str
    status: str


class MessageList(BaseModel):
    """Messages of an order, oldest first."""

    messages: list[MessagePublic]


def _public(message: Message) -> MessagePublic:
    return MessagePublic(message_id=message.id, **message.model_dump(exclude={"id", "created_at"}))


@router.post("/messages", status_code=201, summary="Send a message", responses=POST_ERRORS)
async def send(body: MessageCreate, state: StateDep, _key: IdempotencyKey) -> MessagePublic:
    """Send (here: keep) a rendered SMS or e-mail."""
    return _public(state.add(Message(id=new_id("msg"), **body.model_dump())))


@router.get("/messages", summary="List messages sent for an order")
async def list_messages(
    state: StateDep, order_ref: Annotated[str, Query(min_length=1, max_length=64, description="the order id")]
) -> MessageList:
    """Every message sent about the order."""
    return MessageList(messages=[_public(m) for m in state.of_order(Message, order_ref)])
