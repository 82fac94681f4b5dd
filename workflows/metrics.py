"""The purchase's business metrics, recorded from workflow code through workflow.metric_meter().

Replay-safe (the SDK records nothing while replaying) and deterministic (no I/O; only temporalio.workflow). The
worker's SDK runtime exports them on its metrics port with the workflow's namespace, task_queue and
workflow_type as labels, counters with a `_total` suffix (observability/sdk.py). Attributes take bounded values
only: stages, states, plans, undo kinds, outcomes; never an order id or customer data.
"""

from __future__ import annotations

from temporalio import workflow

STAGE_ENTERED = "carbuy_stage_entered"
STAGE_DURATION = "carbuy_stage_duration_seconds"
PURCHASE_STARTED = "carbuy_purchases_started"
PURCHASE_ENDED = "carbuy_purchases_ended"
COMPENSATIONS = "carbuy_compensations"
SLA_BREACHES = "carbuy_sla_breaches"
WINDOWS_REOPENED = "carbuy_windows_reopened"


def purchase_started(plan: str) -> None:
    """A purchase workflow began (once per purchase, not per replay)."""
    workflow.metric_meter().create_counter(PURCHASE_STARTED, "Purchases started, by financing plan", "purchases").add(
        1, {"plan": str(plan)}
    )


def stage_entered(stage: str) -> None:
    """The purchase (or one of its branches) entered a stage."""
    workflow.metric_meter().create_counter(
        STAGE_ENTERED, "Stage transitions: entries into each stage", "transitions"
    ).add(1, {"stage": str(stage)})


def stage_left(stage: str, seconds: float) -> None:
    """The purchase left a stage after this many seconds (workflow time) in it."""
    workflow.metric_meter().create_histogram_float(STAGE_DURATION, "Time spent in each stage", "s").record(
        max(seconds, 0.0), {"stage": str(stage)}
    )


def purchase_ended(state: str, plan: str) -> None:
    """The purchase reached a final state (completed, cancelled, failed)."""
    workflow.metric_meter().create_counter(
        PURCHASE_ENDED, "Purchases ended, by final state and financing plan", "purchases"
    ).add(1, {"state": str(state), "plan": str(plan)})


def compensation_ran(kind: str, ok: bool) -> None:
    """One undo ran to its end: ok, or failed after its retries (a person must finish it)."""
    workflow.metric_meter().create_counter(
        COMPENSATIONS, "Undos run during compensation, by kind and outcome", "undos"
    ).add(1, {"kind": str(kind), "outcome": "ok" if ok else "failed"})


def sla_breached(stage: str) -> None:
    """A stage's SLA deadline passed while the purchase still waited."""
    workflow.metric_meter().create_counter(
        SLA_BREACHES, "SLA deadlines passed while waiting, by stage", "breaches"
    ).add(1, {"stage": str(stage)})


def window_reopened(stage: str) -> None:
    """A customer's window expired late (the platform was down at its deadline) and was reopened."""
    workflow.metric_meter().create_counter(
        WINDOWS_REOPENED, "Customer windows reopened after an expiry that ran late, by stage", "windows"
    ).add(1, {"stage": str(stage)})
