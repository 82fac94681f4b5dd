"""Everything the sandbox holds, in memory, guarded by one asyncio lock."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, Field

from carbuy.contract.scenarios import Scenario
from sandbox.errors import NotFound
from sandbox.faults import Faults


def now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A fresh partner id such as `loan_3f9a...`."""
    return f"{prefix}_{secrets.token_hex(8)}"


class SandboxConfig(BaseModel):
    """Run-time knobs of the sandbox."""

    callback_delay_s: float = Field(ge=0, le=3600, description="pause before each asynchronous callback")
    latency_ms: int = Field(ge=0, le=60_000, description="added before every partner request is handled")
    callback_attempts: int = Field(default=5, ge=1, le=20, description="deliveries tried per callback")
    callback_backoff_s: float = Field(default=0.2, ge=0, le=60, description="first wait between deliveries")


class PartnerObject(BaseModel):
    """Something a partner created for an order: an application, a reservation, a policy, ..."""

    kind: ClassVar[str] = "object"

    id: str
    order_ref: str
    created_at: datetime = Field(default_factory=now)


class RequestRecord(BaseModel):
    """One partner request the sandbox handled (replays under the same key are counted, not repeated)."""

    at: datetime
    institution: str
    method: str
    path: str
    idempotency_key: str | None
    status_code: int
    response: Any = None
    replays: int = 0
    references: list[str] = Field(default_factory=list, description="ids of the partner objects it created")


class CallbackRecord(BaseModel):
    """One asynchronous callback and what happened to its delivery."""

    event_id: str
    type: str
    reference: str
    url: str
    data: dict[str, str | int | bool | None]
    occurred_at: datetime | None = None
    status: Literal["pending", "delivered", "failed", "dropped"] = Field(
        default="pending", description="dropped: decided but never sent (a silent partner, an injected drop)"
    )
    attempts: int = 0
    resends: int = Field(default=0, description="times it was sent again because its request was replayed")
    last_error: str | None = None
    delivered_at: datetime | None = None


@dataclass
class OrderRecord:
    """What the sandbox knows about one order."""

    order_ref: str
    scenarios: set[Scenario] = field(default_factory=set)
    requests: list[RequestRecord] = field(default_factory=list)
    callbacks: list[CallbackRecord] = field(default_factory=list)


@dataclass
class IdempotentAnswer:
    """The stored answer to a keyed request, replayed to the same request and refused to another."""

    fingerprint: str
    status_code: int
    body: bytes
    record: RequestRecord


ObjectT = TypeVar("ObjectT", bound=PartnerObject)


class SandboxState:
    """Orders, partner objects, idempotent answers, config and faults."""

    def __init__(self, config: SandboxConfig) -> None:
        self.lock = asyncio.Lock()
        self.initial_config = config
        self.reset()

    def reset(self) -> None:
        """Forget everything and go back to the initial config."""
        self.config = self.initial_config.model_copy()
        self.faults = Faults()
        self.orders: dict[str, OrderRecord] = {}
        self.objects: dict[str, PartnerObject] = {}
        self.answers: dict[tuple[str, str], IdempotentAnswer] = {}

    def order(self, order_ref: str) -> OrderRecord:
        """The record of an order, created on first use."""
        return self.orders.setdefault(order_ref, OrderRecord(order_ref=order_ref))

    def has(self, order_ref: str, scenario: Scenario) -> bool:
        """Whether the order runs this scenario."""
        record = self.orders.get(order_ref)
        return record is not None and scenario in record.scenarios

    def add(self, obj: ObjectT) -> ObjectT:
        """Keep a new partner object."""
        self.order(obj.order_ref)
        self.objects[obj.id] = obj
        return obj

    def get(self, kind: type[ObjectT], ident: str, *, order_ref: str | None = None) -> ObjectT:
        """The object of this kind with this id (of this order, when given), or NotFound."""
        obj = self.objects.get(ident)
        if not isinstance(obj, kind) or (order_ref is not None and obj.order_ref != order_ref):
            raise NotFound(kind.kind, ident)
        return obj

    def of_order(self, kind: type[ObjectT], order_ref: str) -> list[ObjectT]:
        """The objects of this kind made for an order, oldest first."""
        return [o for o in self.objects.values() if isinstance(o, kind) and o.order_ref == order_ref]

    def objects_of(self, order_ref: str) -> list[dict[str, Any]]:
        """Every object of an order, as JSON-ready dicts with their kind."""
        return [
            {"kind": o.kind, **o.model_dump(mode="json")} for o in self.objects.values() if o.order_ref == order_ref
        ]
