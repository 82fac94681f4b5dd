"""Fault injection per institution: the one place where the sandbox misbehaves on purpose.

Request faults (`plan_request`): fail the next N requests, fail a share with a 5xx before handling, answer a
share late, or handle a share and hold its answer past the client's timeout. Callback faults (`plan_callback`):
deliver a share twice, hold a share back so the next one overtakes it, or drop a share. Each institution draws
from its own random streams (seeded for reproducible runs), and every injected fault is counted.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

FaultKind = Literal["fail_next", "error", "timeout", "slow", "duplicate", "reorder", "drop"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
Rate = Annotated[float, Field(ge=0, le=1)]


class InstitutionFaults(BaseModel):
    """The faults of one institution; rates are shares (0..1) of its requests or callbacks."""

    model_config = ConfigDict(extra="forbid")

    fail_next: int = Field(default=0, ge=0, description="answer the next N requests with status_code")
    status_code: int = Field(default=503, ge=500, le=599, description="the status of fail_next and error_rate")
    error_rate: Rate = Field(default=0.0, description="answered status_code before being handled: no change")
    timeout_rate: Rate = Field(default=0.0, description="handled (answer stored), then answered after timeout_s")
    timeout_s: float = Field(default=12.0, gt=0, le=600)
    slow_rate: Rate = Field(default=0.0, description="answered slow_ms late, but handled as usual")
    slow_ms: int = Field(default=2000, ge=0, le=60_000)
    duplicate_rate: Rate = Field(default=0.0, description="callbacks delivered twice under the same event id")
    reorder_rate: Rate = Field(default=0.0, description="callbacks held back reorder_delay_s: the next overtakes")
    reorder_delay_s: float = Field(default=1.0, ge=0, le=600)
    drop_rate: Rate = Field(default=0.0, description="callbacks never sent (dropped) until their request is replayed")
    seed: int | None = Field(default=None, description="makes the institution's fault draws reproducible")


@dataclass(frozen=True)
class RequestPlan:
    """What happens to one partner request."""

    fail_with: int | None = None
    delay_s: float = 0.0
    """before handling"""
    hold_s: float = 0.0
    """after handling, before answering"""


@dataclass(frozen=True)
class CallbackPlan:
    """What happens to one callback."""

    copies: int = 1
    hold_s: float = 0.0
    drop: bool = False


def _stream(seed: int | None, name: str) -> random.Random:
    return random.Random(f"{seed}:{name}") if seed is not None else random.Random()


class Faults:
    """The faults in force and the faults injected so far, by institution (path prefix without slash)."""

    def __init__(self) -> None:
        self.by_institution: dict[str, InstitutionFaults] = {}
        self.injected: dict[str, Counter[FaultKind]] = {}
        self._requests: dict[str, random.Random] = {}
        self._callbacks: dict[str, random.Random] = {}

    def set(self, institution: str, faults: InstitutionFaults) -> None:
        """Replace the faults of one institution and restart its random streams (its counts go on)."""
        self.by_institution[institution] = faults.model_copy()
        # Requests and callbacks draw from separate streams: their interleaving depends on timing.
        self._requests[institution] = _stream(faults.seed, institution)
        self._callbacks[institution] = _stream(faults.seed, f"{institution}:callbacks")

    def clear(self) -> None:
        """Remove every fault and forget every count."""
        self.by_institution.clear()
        self.injected.clear()
        self._requests.clear()
        self._callbacks.clear()

    def injected_of(self, institution: str) -> dict[FaultKind, int]:
        """The faults injected into an institution so far, by kind."""
        counts = self.injected.get(institution, Counter())
        return {kind: counts[kind] for kind in FAULT_KINDS}

    def plan_request(self, institution: str) -> RequestPlan:
        """Whether to fail this request, and how long to wait before handling it and before answering."""
        faults = self.by_institution.get(institution)
        if faults is None:
            return RequestPlan()
        if faults.fail_next > 0:
            faults.fail_next -= 1
            self._count(institution, "fail_next")
            return RequestPlan(fail_with=faults.status_code)
        draws = self._requests[institution]
        if self._hit(institution, "error", faults.error_rate, draws):
            return RequestPlan(fail_with=faults.status_code)
        slow = self._hit(institution, "slow", faults.slow_rate, draws)
        timeout = self._hit(institution, "timeout", faults.timeout_rate, draws)
        return RequestPlan(delay_s=faults.slow_ms / 1000 if slow else 0.0, hold_s=faults.timeout_s if timeout else 0.0)

    def plan_callback(self, institution: str) -> CallbackPlan:
        """Whether to drop this callback, how many copies to deliver and how long to hold it back."""
        faults = self.by_institution.get(institution)
        if faults is None:
            return CallbackPlan()
        draws = self._callbacks[institution]
        if self._hit(institution, "drop", faults.drop_rate, draws):
            return CallbackPlan(drop=True)
        duplicate = self._hit(institution, "duplicate", faults.duplicate_rate, draws)
        reorder = self._hit(institution, "reorder", faults.reorder_rate, draws)
        return CallbackPlan(copies=2 if duplicate else 1, hold_s=faults.reorder_delay_s if reorder else 0.0)

    def _hit(self, institution: str, kind: FaultKind, rate: float, draws: random.Random) -> bool:
        # A zero rate draws nothing, so adding a knob leaves the other knobs' sequences as they were.
        if rate <= 0 or draws.random() >= rate:
            return False
        self._count(institution, kind)
        return True

    def _count(self, institution: str, kind: FaultKind) -> None:
        self.injected.setdefault(institution, Counter())[kind] += 1
