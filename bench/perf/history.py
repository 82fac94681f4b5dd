"""History size: one happy purchase per financing plan on a bench stack, and what its history holds.

Activities are counted both ways the worker runs them: remote (`activity_task_scheduled` events) and local
(`marker_recorded` events of the SDK's local-activity marker), reported apart and together.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory

from bench.perf.customer import BenchCustomer, bench_http, create_cards, notifier_http
from bench.perf.stack import running_bench_stack
from carbuy.contract.budget import HISTORY_BYTES_BUDGET, LONGEST_PLAN_EVENT_GOAL
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.devtools.devstack import DevStack
from carbuy.runtime.temporal import connect

LOCAL_ACTIVITY_MARKER = "core_local_activity"
"""The marker name the SDK core records for each local activity."""


def history_stats(history: WorkflowHistory) -> dict[str, Any]:
    """Events, protobuf bytes, event counts by type and activities (remote, local, total) of one history."""
    types: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    local = 0
    for event in history.events:
        kind = (event.WhichOneof("attributes") or "?").removesuffix("_event_attributes")
        types[kind] += 1
        sizes[kind] += event.ByteSize()
        if kind == "marker_recorded" and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER:
            local += 1
    remote = types["activity_task_scheduled"]
    return {
        "events": len(history.events),
        "proto_bytes": History(events=history.events).ByteSize(),
        "event_types": dict(types.most_common()),
        "bytes_by_type": dict(sizes.most_common()),
        "activities": {"remote": remote, "local": local, "total": remote + local},
    }


async def measure_histories(
    stack: DevStack,
    plans: Sequence[FinancingPlan],
    *,
    poll_s: float = 0.5,
) -> dict[str, dict[str, Any]]:
    """Play one purchase of each plan at once on a running stack; each plan's history stats (and its latency)."""
    settings = stack.settings
    cards = await asyncio.to_thread(create_cards, settings.stripe, len(plans))
    client = await connect(settings)
    async with bench_http(settings, stack.api_url) as http, notifier_http(settings) as notifier:
        customer = BenchCustomer(http, notifier, poll_s=poll_s)
        runs = await asyncio.gather(*(customer.buy(plan, card) for plan, card in zip(plans, cards, strict=True)))
    found: dict[str, dict[str, Any]] = {}
    for run in runs:
        if not run.completed:
            raise RuntimeError(f"history purchase {run.order_id} ({run.plan}) ended {run.stage}, not completed")
        history = await client.get_workflow_handle(purchase_workflow_id(run.order_id)).fetch_history()
        found[run.plan.value] = {"order_id": run.order_id, "latency_s": run.latency_s, **history_stats(history)}
        (stack.state_dir / f"history-{run.plan.value}.json").write_text(history.to_json())
    return found


def longest(plans: dict[str, dict[str, Any]]) -> str:
    """The plan whose history has the most events."""
    return max(plans, key=lambda plan: plans[plan]["events"])


def history_rows(plans: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Report rows: the longest plan's history against the goals (the bare figure is the baseline's chain of the
    same number of activities: 5 + 6k events)."""
    name = longest(plans)
    stats = plans[name]
    k = stats["activities"]["total"]
    return [
        {
            "metric": f"history events ({name}, {k} act.; bare 5+6k)",
            "carbuy": stats["events"],
            "bare": 5 + 6 * k,
            "ratio": stats["events"] / (5 + 6 * k),
            "goal": f"≤ {LONGEST_PLAN_EVENT_GOAL}",
            "met": stats["events"] <= LONGEST_PLAN_EVENT_GOAL,
        },
        {
            "metric": f"history bytes ({name})",
            "carbuy": stats["proto_bytes"],
            "bare": None,
            "ratio": None,
            "goal": f"≤ {HISTORY_BYTES_BUDGET}",
            "met": stats["proto_bytes"] <= HISTORY_BYTES_BUDGET,
        },
    ]


async def run_history(opts: Any, say: Callable[[str], None]) -> dict[str, Any]:
    """The history scenario: a bench stack of its own, one purchase per plan; {"plans", "rows"}."""
    plans = list(FinancingPlan)
    async with running_bench_stack(Path(opts.workdir) / f"history-{int(time.time())}", say) as stack:
        say(f"history: one purchase of each plan ({', '.join(plans)})")
        found = await measure_histories(stack, plans, poll_s=opts.poll_s)
    for plan, stats in found.items():
        say(f"  {plan}: {stats['events']} events, {stats['proto_bytes']} bytes, activities {stats['activities']}")
    return {"plans": found, "rows": history_rows(found)}
