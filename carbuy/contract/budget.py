"""How big a purchase's history may grow: months-long purchases must never need continue-as-new.

Temporal warns at 10,240 events and 10 MB; a purchase stays far below both, so its history is one readable page in
the Web UI and a replay (a status query on an evicted purchase) stays cheap. The guard test
(`tests/workflows/test_history_budget.py`) runs every plan's happy path and fails past these figures; the benchmark
(`bench/perf.py --scenarios history`) measures the same on the dev server.
"""

from __future__ import annotations

from carbuy.contract.order import FinancingPlan

HISTORY_EVENT_BUDGET: dict[FinancingPlan, int] = {
    FinancingPlan.FULL: 130,
    FinancingPlan.BATTERY_LEASE: 134,
    FinancingPlan.LOAN: 142,
    FinancingPlan.LOAN_BATTERY: 148,
}
"""Events of a completed purchase per plan: what it takes today (124, 127, 135 and 141) plus a small margin."""

LONGEST_PLAN_EVENT_GOAL = 150
"""The goal for the longest plan (issue 8); every budget above stays within it."""

HISTORY_BYTES_BUDGET = 32 * 1024
"""Protobuf bytes of a completed purchase's history, whatever the plan."""
