"""Benchmark: the chaos run at scale (1,000 purchases by default) on a stack of its own; the summary and timings.

    .venv/bin/python bench/chaos.py                        # N=1000, concurrency 50, 5 kills, 2 restarts, 20 s floor
    .venv/bin/python bench/chaos.py --purchases 300 --concurrency 30 --json bench-chaos.json

The same runner as `carbuy chaos` (carbuy/devtools/chaos/runner.py), with more purchases, more disruptions and a longer
deadline; it adds the purchases' duration percentiles and the throughput to the summary. Exit status 0 only when
every purchase ended where it should, none waits, the money audit is clean and every history replays.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from carbuy.devtools.chaos.config import ChaosConfig  # noqa: E402
from carbuy.devtools.chaos.render import render  # noqa: E402
from carbuy.devtools.chaos.runner import run_chaos  # noqa: E402
from carbuy.devtools.chaos.summary import ChaosSummary  # noqa: E402
from carbuy.runtime.settings import Settings  # noqa: E402


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--fault-rate", type=float, default=1.0)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--temporal-restarts", type=int, default=2)
    parser.add_argument("--timeout-s", type=float, default=3600.0)
    parser.add_argument(
        "--deadline-floor-s",
        type=float,
        default=20.0,
        help="shortest window or SLA (the CLI's): a decline that comes after the window still leaves "
        "retry_after_decline (scaled, so this floor) to pay again",
    )
    parser.add_argument("--poll-s", type=float, default=1.0, help="each customer's status polling interval")
    parser.add_argument("--disruption-delay-s", type=float, default=60.0, help="longest pause before a disruption")
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the summary as JSON here")
    return parser.parse_args()


def timings(summary: ChaosSummary) -> str:
    """Purchase durations (p50/p95/max) and throughput over the run's wall time."""
    durations = sorted(p.duration_s for p in summary.purchases if p.duration_s is not None)
    if not durations:
        return "no purchase ended"
    p95 = durations[min(len(durations) - 1, round(0.95 * (len(durations) - 1)))]
    per_minute = len(durations) / summary.wall_s * 60
    return (
        f"purchase duration p50 {statistics.median(durations):.1f}s, p95 {p95:.1f}s, max {durations[-1]:.1f}s; "
        f"{len(durations)} ended in {summary.wall_s:.0f}s ({per_minute:.0f} per minute)"
    )


def main() -> None:
    """Run the benchmark and print its summary."""
    args = _arguments()
    config = ChaosConfig(
        purchases=args.purchases,
        seed=args.seed,
        concurrency=args.concurrency,
        fault_rate=args.fault_rate,
        kills=args.kills,
        temporal_restarts=args.temporal_restarts,
        timeout_s=args.timeout_s,
        poll_s=args.poll_s,
        disruption_delay_s=args.disruption_delay_s,
        deadline_floor_s=args.deadline_floor_s,
        state_dir=args.state_dir,
    )
    console = Console(width=160)
    summary = asyncio.run(run_chaos(config, Settings(environment="test"), console.print))
    render(summary, console)
    console.print(timings(summary))
    if args.json is not None:
        args.json.write_text(summary.model_dump_json(indent=2))
    sys.stdout.flush()
    os._exit(0 if summary.ok else 1)  # the SDK's native threads can abort the interpreter at exit (sdk-python#300)


if __name__ == "__main__":
    main()
