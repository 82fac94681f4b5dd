"""What each chaos purchase will do, and the outcome it must reach: pure, drawn from one seed."""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal

from carbuy.contract.order import FinancingPlan
from carbuy.contract.scenarios import Scenario


class Outcome(StrEnum):
    """How a purchase ends; the last three are only ever reached, never planned."""

    COMPLETED = "completed"
    CANCELLED_WITH_FEE = "cancelled_with_fee"
    CANCELLED_NO_FEE = "cancelled_no_fee"
    FAILED = "failed"
    WAITING = "waiting"
    UNREADABLE = "unreadable"
    """its status query fails for good (the worker cannot replay its history)"""


class CancelPoint(StrEnum):
    """Where the customer cancels: before lock costs nothing, after lock the deposit is the fee."""

    DEPOSIT_PAID = "deposit_paid"
    LOCKED = "locked"
    BRANCHES = "branches"
    BALANCE = "balance"
    HANDOVER = "handover"


class Abandon(StrEnum):
    """Where the customer stops answering: the purchase expires (a full refund, if anything was paid)."""

    DEPOSIT = "deposit"
    LOCK = "lock"


DECISIVE = (Scenario.LOAN_DENIED, Scenario.LOAN_DOCUMENTS_REQUIRED, Scenario.INSURER_REFUSES, Scenario.BATTERY_REFUSED)
"""Scenarios that decide how the purchase ends (with the customer's answer); never mixed with a cancellation."""

RECOVERABLE: tuple[tuple[Scenario, float], ...] = (
    (Scenario.NO_STOCK, 0.15),
    (Scenario.DAMAGED_IN_TRANSIT, 0.10),
    (Scenario.PDI_FAILED, 0.10),
    (Scenario.REGISTRATION_REJECTED, 0.15),
    (Scenario.LENDER_SILENT, 0.15),
)
"""Scenarios the purchase gets over (a new VIN, ops correcting or retrying), with how often each is drawn."""

Fate = Literal["complete", "cancel", "abandon", "decisive"]
FATES: tuple[tuple[Fate, float], ...] = (("complete", 0.40), ("cancel", 0.25), ("abandon", 0.05), ("decisive", 0.30))


@dataclass(frozen=True)
class PurchasePlan:
    """One purchase's plan, scenarios and customer behaviour."""

    index: int
    order_id: str
    plan: FinancingPlan
    scenarios: tuple[Scenario, ...] = ()
    cancel_at: CancelPoint | None = None
    abandon_at: Abandon | None = None
    decline_deposit: bool = False
    decline_balance: bool = False
    refuse_handover_once: bool = False
    switch_to_full: bool = False
    upload_documents: bool = False
    max_delay_s: float = 1.0
    behaviour_seed: str = field(default="", repr=False)

    @property
    def expected(self) -> Outcome:
        """The outcome this purchase must reach, whatever faults, kills and restarts happen meanwhile."""
        return expected_outcome(self)

    @property
    def behaviour(self) -> str:
        """The customer's behaviour in a few words (for the summary)."""
        parts = [f"cancel@{self.cancel_at.value}"] if self.cancel_at else []
        parts += [f"abandon@{self.abandon_at.value}"] if self.abandon_at else []
        flags = (
            ("decline_deposit", self.decline_deposit),
            ("decline_balance", self.decline_balance),
            ("refuse_handover_once", self.refuse_handover_once),
            ("switch_to_full", self.switch_to_full),
            ("upload_documents", self.upload_documents),
        )
        parts += [name for name, on in flags if on]
        return " ".join(parts) or "completes"


def expected_outcome(plan: PurchasePlan) -> Outcome:
    """The product's rules for one plan: who ends it, and whether the customer owes the fee."""
    if plan.abandon_at is not None:
        return Outcome.CANCELLED_NO_FEE
    if plan.cancel_at is not None:
        return Outcome.CANCELLED_NO_FEE if plan.cancel_at is CancelPoint.DEPOSIT_PAID else Outcome.CANCELLED_WITH_FEE
    if Scenario.INSURER_REFUSES in plan.scenarios or Scenario.BATTERY_REFUSED in plan.scenarios:
        return Outcome.CANCELLED_NO_FEE
    if Scenario.LOAN_DENIED in plan.scenarios and not plan.switch_to_full:
        return Outcome.CANCELLED_NO_FEE
    if Scenario.LOAN_DOCUMENTS_REQUIRED in plan.scenarios and not plan.upload_documents:
        return Outcome.CANCELLED_NO_FEE  # the loan lapses like a denial, and this customer does not switch
    return Outcome.COMPLETED


def _pick(rng: random.Random, weighted: tuple[tuple[Fate, float], ...]) -> Fate:
    values, weights = zip(*weighted, strict=True)
    fate: Fate = rng.choices(values, weights=weights)[0]
    return fate


def plan_purchase(seed: int, index: int, *, run_tag: str, max_delay_s: float = 1.0) -> PurchasePlan:
    """Draw one purchase's plan from (seed, index) alone, so a purchase plans the same whatever N is."""
    rng = random.Random(f"chaos:{seed}:{index}")
    plan = rng.choice(list(FinancingPlan))
    fate = _pick(rng, FATES)
    # every draw happens whatever the fate, so one knob never shifts the others' draws
    decline_deposit, decline_balance, refuse_once = rng.random() < 0.15, rng.random() < 0.15, rng.random() < 0.2
    switch, upload = rng.random() < 0.5, rng.random() < 0.7
    base = PurchasePlan(
        index=index,
        order_id=f"CHAOS-{run_tag}-{index:05d}",
        plan=plan,
        max_delay_s=max_delay_s,
        behaviour_seed=f"chaos:{seed}:{index}:behaviour",
    )
    if fate == "abandon":
        abandon_at = rng.choice(list(Abandon))
        return replace(base, abandon_at=abandon_at, decline_deposit=decline_deposit and abandon_at is Abandon.LOCK)
    base = replace(base, decline_deposit=decline_deposit)
    if fate == "decisive":
        scenario = rng.choice([s for s in DECISIVE if _applies(s, plan)])
        chosen = replace(
            base,
            scenarios=(scenario,),
            switch_to_full=scenario is Scenario.LOAN_DENIED and switch,
            upload_documents=scenario is Scenario.LOAN_DOCUMENTS_REQUIRED and upload,
        )
    elif fate == "cancel":
        cancel_at = rng.choice(list(CancelPoint))
        scenarios = () if cancel_at is CancelPoint.DEPOSIT_PAID else _recoverable(rng, plan)
        chosen = replace(
            base,
            scenarios=scenarios,
            cancel_at=cancel_at,
            decline_balance=decline_balance and cancel_at is CancelPoint.HANDOVER,
        )
    else:
        chosen = replace(base, scenarios=_recoverable(rng, plan))
    if chosen.expected is Outcome.COMPLETED:
        chosen = replace(chosen, decline_balance=decline_balance, refuse_handover_once=refuse_once)
    return chosen


def _applies(scenario: Scenario, plan: FinancingPlan) -> bool:
    if scenario in (Scenario.LOAN_DENIED, Scenario.LOAN_DOCUMENTS_REQUIRED, Scenario.LENDER_SILENT):
        return plan.has_loan
    if scenario is Scenario.BATTERY_REFUSED:
        return plan.has_battery_lease
    return True


def _recoverable(rng: random.Random, plan: FinancingPlan) -> tuple[Scenario, ...]:
    drawn = [s for s, p in RECOVERABLE if rng.random() < p and _applies(s, plan)]
    if Scenario.DAMAGED_IN_TRANSIT in drawn and Scenario.PDI_FAILED in drawn:
        drawn.remove(Scenario.PDI_FAILED)  # the sandbox plays only one fate per first shipment
    return tuple(drawn)


def plan_purchases(n: int, seed: int, *, run_tag: str | None = None, max_delay_s: float = 1.0) -> list[PurchasePlan]:
    """N purchases for a run with this seed."""
    tag = run_tag if run_tag is not None else str(seed)
    return [plan_purchase(seed, i, run_tag=tag, max_delay_s=max_delay_s) for i in range(n)]


class DisruptionKind(StrEnum):
    """What the runner does to the stack."""

    WORKER_KILL = "worker_kill"
    TEMPORAL_RESTART = "temporal_restart"


DOWNTIME_S = {DisruptionKind.WORKER_KILL: (0.0, 2.0), DisruptionKind.TEMPORAL_RESTART: (1.0, 6.0)}
"""How long the process stays down (seconds, drawn between the bounds): a Temporal outage of several seconds
outlasts the sandbox's callback retries, so some answers are lost until ops retry."""


@dataclass(frozen=True)
class Disruption:
    """One disruption: once `after_started` customers have started, wait `delay_s`, then strike."""

    kind: DisruptionKind
    after_started: int
    delay_s: float
    downtime_s: float


def plan_disruptions(
    seed: int, *, purchases: int, kills: int, temporal_restarts: int, max_delay_s: float = 12.0
) -> list[Disruption]:
    """Worker kills and Temporal restarts spread over the run (by customers started, then a random delay)."""
    rng = random.Random(f"chaos:{seed}:disruptions")
    kinds = [DisruptionKind.WORKER_KILL] * kills + [DisruptionKind.TEMPORAL_RESTART] * temporal_restarts
    rng.shuffle(kinds)
    started = sorted(rng.randrange(0, max(purchases, 1)) for _ in kinds)
    return [
        Disruption(
            kind=kind,
            after_started=after,
            delay_s=round(rng.uniform(0.5, max_delay_s), 2),
            downtime_s=round(rng.uniform(*DOWNTIME_S[kind]), 2),
        )
        for kind, after in zip(kinds, started, strict=True)
    ]
