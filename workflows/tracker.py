"""Stage, branches, waits, amounts and timeline of a purchase, kept in sync with its search attributes."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
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


class Tracker:
    """Stage and state of one purchase; every change is upserted as search attributes."""

    def __init__(self, amounts: Amounts) -> None:
        self.stage = PurchaseStage.DEPOSIT
        self.state = PurchaseState.ACTIVE
        self.amounts = amounts
        self.branches: dict[Branch, BranchStatus] = {}
        self.waits: list[Wait] = []
        self.timeline: list[TimelineEntry] = []
        self.reason: str | None = None
        self._published: tuple[PurchaseStage, PurchaseState] | None = None

    def note(self, event: str) -> None:
        """Add a line to the timeline (bounded, so a long purchase stays small)."""
        if len(self.timeline) < TIMELINE_LIMIT:
            self.timeline.append(TimelineEntry(at=workflow.now(), stage=self.stage, event=event))

    def enter(self, stage: PurchaseStage) -> None:
        """Move the whole purchase to a sequential stage (entering the current stage again changes nothing)."""
        if stage == self.stage:
            return
        self.stage = stage
        self.note(f"stage {stage.value}")
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
        self.stage = stage
        if reason:
            self.reason = reason
        self.note(f"{state.value}" + (f": {reason}" if reason else ""))
        self.publish()

    def waiting(self, what: str, deadline: timedelta | None) -> Wait:
        """Record that the purchase waits for something (until a deadline, if any)."""
        now = workflow.now()
        wait = Wait(what=what, since=now, deadline=None if deadline is None else now + deadline)
        self.waits.append(wait)
        return wait

    def done_waiting(self, wait: Wait) -> None:
        """Forget a wait that ended."""
        if wait in self.waits:
            self.waits.remove(wait)

    def publish(self) -> None:
        """Upsert PurchaseStage and PurchaseState when they changed."""
        current = (self.stage, self.state)
        if current != self._published:
            workflow.upsert_search_attributes(
                [STAGE_KEY.value_set(self.stage.value), STATE_KEY.value_set(self.state.value)]
            )
            self._published = current

    def _derive_stage(self) -> None:
        open_stages = [s.stage for s in self.branches.values() if not s.done]
        if open_stages:
            least = min(open_stages, key=STAGE_ORDER.index)
            if least != self.stage:
                self.stage = least
                self.note(f"stage {least.value}")
        self.publish()


def deadline_left(deadline: datetime) -> timedelta:
    """Time left until an absolute deadline (never negative)."""
    return max(deadline - workflow.now(), timedelta(0))
