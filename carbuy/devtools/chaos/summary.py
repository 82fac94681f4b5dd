"""What a chaos run found: every purchase's expected and reached outcome, faults, disruptions, the money audit."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field, computed_field

from carbuy.contract.purchase import PurchaseStage, PurchaseStatus
from carbuy.devtools.chaos.disrupt import DisruptionRecord
from carbuy.devtools.chaos.plan import DisruptionKind, Outcome


class PurchaseReport(BaseModel):
    """One purchase: what it was meant to do, where it ended, with which money."""

    order_id: str
    plan: str
    scenarios: list[str]
    behaviour: str
    expected: Outcome
    reached: Outcome
    stage: str | None = None
    state: str | None = None
    reason: str | None = None
    waiting_for: list[str] = Field(default_factory=list)
    attention: list[str] = Field(default_factory=list)
    paid_fen: int = 0
    refunded_fen: int = 0
    problems: list[str] = Field(default_factory=list, description="what the customer saw go wrong")
    temporal: str | None = Field(
        default=None,
        description="what Temporal says of a purchase whose customer did "
        "not see it end: execution status, PurchaseStage, PurchaseState",
    )
    actions: list[str] = Field(default_factory=list, description="what the customer did, with the answers")
    duration_s: float | None = Field(default=None, description="from placing the order until it ended")
    timeline: list[str] = Field(default_factory=list, description="the purchase's timeline, kept when not ok")

    @property
    def ok(self) -> bool:
        """Reached what it should, and the customer met no error on the way."""
        return self.expected is self.reached and not self.problems


def reached_outcome(status: PurchaseStatus | None, *, fee_fen: int) -> Outcome:
    """Where a purchase is, as an outcome: the money it kept tells a cancellation with fee from one without."""
    if status is None:
        return Outcome.WAITING
    if status.stage is PurchaseStage.COMPLETED:
        return Outcome.COMPLETED
    if status.stage is PurchaseStage.CANCELLED:
        kept = status.amounts.paid - status.amounts.refunded
        if kept == 0:
            return Outcome.CANCELLED_NO_FEE
        return Outcome.CANCELLED_WITH_FEE if kept == fee_fen else Outcome.FAILED
    if status.stage is PurchaseStage.FAILED:
        return Outcome.FAILED
    return Outcome.WAITING


class AuditReport(BaseModel):
    """The money audit over the run's purchases."""

    ran: bool
    ok: bool
    purchases: int = 0
    discrepancies: list[str] = Field(default_factory=list)
    error: str | None = None


class ReplayCheck(BaseModel):
    """Every history of the run replayed on today's code at its end (`carbuy replay` over the run's server)."""

    ran: bool
    total: int = 0
    replayed: int = 0
    failures: list[str] = Field(default_factory=list)
    error: str | None = None


class ChaosSummary(BaseModel):
    """Everything a chaos run found; `ok` only with no mismatch, no unexpected wait, no discrepancy and every
    history replayed."""

    seed: int
    concurrency: int
    fault_rate: float
    wall_s: float
    stack_up_s: float
    purchases: list[PurchaseReport]
    faults_injected: dict[str, dict[str, int]] = Field(default_factory=dict)
    disruptions: list[DisruptionRecord] = Field(default_factory=list)
    ops_actions: dict[str, int] = Field(default_factory=dict)
    ops_refused: list[str] = Field(default_factory=list)
    api_unavailable: int = Field(default=0, description="calls the API answered 5xx or not at all (and were retried)")
    audit: AuditReport
    replay: ReplayCheck = Field(default_factory=lambda: ReplayCheck(ran=False, error="not run"))
    problems: list[str] = Field(default_factory=list, description="the runner's own: a process that died, ...")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kills(self) -> int:
        """Worker SIGKILLs done."""
        return sum(1 for d in self.disruptions if d.kind is DisruptionKind.WORKER_KILL)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def kill_to_retry_s(self) -> float | None:
        """The longest time, over the worker kills, from the SIGKILL until the last activity it held was started
        again (None: no kill held an activity that was seen retried)."""
        times = [d.last_retry_s for d in self.disruptions if d.last_retry_s is not None]
        return max(times, default=None)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def temporal_restarts(self) -> int:
        """Temporal server restarts done."""
        return sum(1 for d in self.disruptions if d.kind is DisruptionKind.TEMPORAL_RESTART)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def faults_total(self) -> int:
        """Faults the sandbox injected."""
        return sum(sum(kinds.values()) for kinds in self.faults_injected.values())

    @computed_field  # type: ignore[prop-decorator]
    @property
    def by_outcome(self) -> dict[str, int]:
        """Purchases by the outcome reached."""
        counted = Counter(p.reached for p in self.purchases)
        return {o.value: counted[o] for o in Outcome if counted[o]}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mismatches(self) -> list[str]:
        """The purchases that ended elsewhere than they should (or have not ended), or whose customer met an error."""
        return [p.order_id for p in self.purchases if not p.ok]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def waiting(self) -> list[str]:
        """The purchases still waiting at the end (none should)."""
        return [p.order_id for p in self.purchases if p.reached is Outcome.WAITING]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def unreadable(self) -> list[str]:
        """The purchases whose status can no longer be read (their history does not replay)."""
        return [p.order_id for p in self.purchases if p.reached is Outcome.UNREADABLE]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """Every purchase reached what it should, none waits, the money audit is clean, nothing else broke."""
        disrupted = any(d.problem for d in self.disruptions)
        unreplayable = not self.replay.ran or bool(self.replay.failures)
        return not (self.mismatches or self.waiting or not self.audit.ok or self.problems or disrupted or unreplayable)

    def by_plan(self) -> dict[str, Counter[Outcome]]:
        """Reached outcomes per financing plan."""
        table: dict[str, Counter[Outcome]] = {}
        for p in self.purchases:
            table.setdefault(p.plan, Counter())[p.reached] += 1
        return table
