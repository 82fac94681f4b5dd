"""Stage, branches, waits, attention, amounts and timeline of a purchase, kept in sync with what ops see.

Search attributes are upserted only when one of them changed (one upsert for all that changed), and the
current details shown in the Web UI are rewritten whenever a wait, the attention or a partner answer changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from temporalio import workflow

from workflows import details, metrics

with workflow.unsafe.imports_passed_through():
    from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

    from carbuy.contract.ops import (
        CITY_KEY,
        DELIVERY_CENTER_KEY,
        FINANCING_PLAN_KEY,
        NEEDS_ATTENTION_KEY,
        STUCK_SINCE_KEY,
        VEHICLE_MODEL_KEY,
        Attention,
    )
    from carbuy.contract.order import FinancingPlan
    from carbuy.contract.purchase import (
        STAGE_KEY,
        STAGE_ORDER,
        STATE_KEY,
        Amounts,
        Branch,
        BranchStatus,
        PurchaseStage,
        PurchaseState,
        TimelineEntry,
        Wait,
    )

TIMELINE_LIMIT = 200


class Source(Protocol):
    """What the tracker derives the plan, the delivery centre and the amounts from (the Purchase)."""

    plan: FinancingPlan
    delivery_centre: str | None

    def amounts(self) -> Amounts: ...


class Tracker:
    """Stage and state of one purchase; every change is upserted as search attributes."""

    def __init__(self, source: Source, *, city: str, model: str) -> None:
        self.source = source
        self.stage = PurchaseStage.DEPOSIT
        self.state = PurchaseState.ACTIVE
        self.branches: dict[Branch, BranchStatus] = {}
        self.waits: list[Wait] = []
        self.timeline: list[TimelineEntry] = []
        self.reason: str | None = None
        self.city, self.model = city, model
        self.attention: dict[str, str] = {}
        self.stuck_since: datetime | None = None
        self.last_partner_answer: str | None = None
        # what the starter already set at start costs no upsert
        self._published: dict[str, Any] = {
            pair.key.name: pair.value for pair in workflow.info().typed_search_attributes
        }
        self._stage_since = workflow.now()
        metrics.purchase_started(self.plan)
        metrics.stage_entered(self.stage.value)

    @property
    def plan(self) -> str:
        """The financing plan (FinancingPlan in the UI), as the customer chose it at lock or switched it since."""
        return self.source.plan.value

    @property
    def amounts(self) -> Amounts:
        """The purchase's money as it stands."""
        return self.source.amounts()

    def note(self, event: str) -> None:
        """Add a line to the timeline (bounded, so a long purchase stays small)."""
        if len(self.timeline) < TIMELINE_LIMIT:
            self.timeline.append(TimelineEntry(at=workflow.now(), stage=self.stage, event=event))

    def enter(self, stage: PurchaseStage) -> None:
        """Move the whole purchase to a sequential stage (entering the current stage again changes nothing)."""
        if stage == self.stage:
            return
        self._move_to(stage)
        self.publish()

    def start_branches(self, first: dict[Branch, PurchaseStage]) -> None:
        """Open the parallel branches, each at its first stage."""
        self.branches = {b: BranchStatus(branch=b, stage=s) for b, s in first.items()}
        self._derive_stage()

    def branch(self, branch: Branch, stage: PurchaseStage, detail: str | None = None) -> None:
        """Move one branch on; the purchase's stage is the least advanced open branch."""
        self.branches[branch] = BranchStatus(branch=branch, stage=stage, detail=detail)
        self._derive_stage()

    def branch_done(self, branch: Branch, detail: str | None = None) -> None:
        """Close one branch."""
        current = self.branches[branch]
        self.branches[branch] = BranchStatus(branch=branch, stage=current.stage, done=True, detail=detail)
        self._derive_stage()

    def end(self, state: PurchaseState, stage: PurchaseStage, reason: str | None = None) -> None:
        """Set a state (compensating, or a final one)."""
        self.state = state
        if stage != self.stage:
            self._move_to(stage, quiet=True)
        if state in (PurchaseState.COMPLETED, PurchaseState.CANCELLED, PurchaseState.FAILED):
            metrics.purchase_ended(state.value, self.plan)
        workflow.logger.info("state %s", state.value, extra={"stage": self.stage.value})
        if reason:
            self.reason = reason
        self.note(f"{state.value}" + (f": {reason}" if reason else ""))
        self.publish()

    def locked(self) -> None:
        """The plan or the delivery centre changed (both are filters in the UI): publish them."""
        self.publish()

    def waiting(self, what: str, deadline: timedelta | None, *, retryable: bool = False) -> Wait:
        """Record that the purchase waits for something (until a deadline, if any)."""
        now = workflow.now()
        wait = Wait(what=what, since=now, deadline=None if deadline is None else now + deadline, retryable=retryable)
        self.waits.append(wait)
        self.show()
        return wait

    def done_waiting(self, wait: Wait) -> None:
        """Forget a wait that ended."""
        if wait in self.waits:
            self.waits.remove(wait)
        self.show()

    def flag(self, key: str, why: str, since: datetime) -> None:
        """A person must look at the purchase: set NeedsAttention and StuckSince (the earliest open cause)."""
        if self.attention.get(key) == why:
            return
        self.attention[key] = why
        self.stuck_since = since if self.stuck_since is None else min(self.stuck_since, since)
        self.note(f"needs attention: {why}")
        self.publish()

    def unflag(self, key: str, resolution: str | None = None) -> None:
        """A cause of attention is resolved; the flag clears when no cause is left."""
        if self.attention.pop(key, None) is None:
            return
        if not self.attention:
            self.stuck_since = None
        if resolution:
            self.note(resolution)
        self.publish()

    def clear_attention(self, resolution: str) -> None:
        """Every cause of attention is moot (the purchase is being cancelled): clear the flag."""
        if not self.attention:
            return
        self.attention.clear()
        self.stuck_since = None
        self.note(resolution)
        self.publish()

    def partner_answered(self, answer: str) -> None:
        """Remember the last thing a partner told us (shown in the current details)."""
        self.last_partner_answer = f"{answer} at {workflow.now():%Y-%m-%d %H:%M} UTC"
        self.note(answer)
        self.show()

    def attention_status(self) -> Attention:
        """The attention part of the status query."""
        return Attention(needed=bool(self.attention), since=self.stuck_since, reasons=list(self.attention.values()))

    def publish(self) -> None:
        """Upsert every search attribute that changed, then refresh the current details."""
        desired: list[tuple[SearchAttributeKey[Any], Any]] = [
            (STAGE_KEY, self.stage.value),
            (STATE_KEY, self.state.value),
            (NEEDS_ATTENTION_KEY, bool(self.attention)),
            (STUCK_SINCE_KEY, self.stuck_since),
            (CITY_KEY, self.city),
            (VEHICLE_MODEL_KEY, self.model),
            (FINANCING_PLAN_KEY, self.plan),
            (DELIVERY_CENTER_KEY, self.source.delivery_centre),
        ]
        updates: list[SearchAttributeUpdate[Any]] = []
        for key, value in desired:
            if self._published.get(key.name) == value:
                continue
            self._published[key.name] = value
            updates.append(key.value_unset() if value is None else key.value_set(value))
        if updates:
            workflow.upsert_search_attributes(updates)
        self.show()

    def show(self) -> None:
        """Rewrite the current details the Web UI shows (costs no history event)."""
        workflow.set_current_details(details.render(self))

    def _derive_stage(self) -> None:
        open_stages = [s.stage for s in self.branches.values() if not s.done]
        if open_stages:
            least = min(open_stages, key=STAGE_ORDER.index)
            if least != self.stage:
                self._move_to(least)
        self.publish()

    def _move_to(self, stage: PurchaseStage, *, quiet: bool = False) -> None:
        """Change the stage, timing the one left (metrics) and noting the new one unless the caller does."""
        now = workflow.now()
        metrics.stage_left(self.stage.value, (now - self._stage_since).total_seconds())
        metrics.stage_entered(stage.value)
        workflow.logger.info("stage %s -> %s", self.stage.value, stage.value, extra={"stage": stage.value})
        self.stage, self._stage_since = stage, now
        if not quiet:
            self.note(f"stage {stage.value}")


def deadline_left(deadline: datetime) -> timedelta:
    """Time left until an absolute deadline (never negative)."""
    return max(deadline - workflow.now(), timedelta(0))
