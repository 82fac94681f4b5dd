"""How big a purchase's history may grow: months-long purchases must never need continue-as-new.

Temporal warns at 10,240 events and 10 MB; a purchase stays far below both, so its history is one readable page in
the Web UI and a replay (a status query on an evicted purchase) stays cheap. The guard test
(`tests/workflows/test_history_budget.py`) runs every plan's happy path and fails past these figures; the benchmark
(`bench/perf.py --scenarios history`) measures the same on the dev server.
"""

from __future__ import annotations

from carbuy.contract.order import FinancingPlan

HISTORY_EVENT_BUDGET: dict[FinancingPlan, int] = {
    FinancingPlan.FULL: 126,
    FinancingPlan.BATTERY_LEASE: 136,
    FinancingPlan.LOAN: 140,
    FinancingPlan.LOAN_BATTERY: 146,
}
"""Events of a completed purchase per plan: what it takes today on the time-skipping server (119, 129, 133 and
138; partner callbacks that share a workflow task move each by up to 3) plus a small margin."""

LONGEST_PLAN_EVENT_GOAL = 150
"""The goal for the longest plan (issue 8); every budget above stays within it."""

HISTORY_BYTES_BUDGET = 32 * 1024
"""Protobuf bytes of a completed purchase's history, whatever the plan."""
