"""Benchmark: carbuy against bare Temporal, measured side by side in one run, each side on stacks of its own.

    .venv/bin/python bench/perf.py --scenarios history,throughput -n 200 -c 50 --plan loan_battery --json perf.json

Scenarios (run in this order, whatever the order given):
  history     one purchase per financing plan: events, protobuf bytes, activities (remote, local) per history
  throughput  K = the plan's activities; the bare baseline's N chain workflows of K activities, then N purchases
              of the plan (≤ C customers at a time) on a fresh stack: CPU per activity and per purchase, ratios
  placement   fixed-rate order placement (bench/perf/placement.py)
  parked      parked purchases (bench/perf/parked.py)

Progress goes to stderr, the tables to stdout. Exit status 1 when a run failed (a purchase did not complete, a
scenario raised); a missed goal is reported, not a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402

from bench.perf.history import run_history  # noqa: E402
from bench.perf.report import render, write_json  # noqa: E402
from bench.perf.throughput import run_throughput  # noqa: E402
from carbuy.contract.order import FinancingPlan  # noqa: E402

SCENARIOS = ("history", "throughput", "placement", "parked")
"""Every scenario, in the order they run."""
OPTION_DEFAULTS = {
    "placement": {
        "placement_rates": "DEFAULT_RATES",
        "placement_step_s": "DEFAULT_STEP_S",
        "placement_hold_s": "DEFAULT_HOLD_S",
        "placement_unit": "DEFAULT_UNIT",
    },
    "parked": {"parked": "DEFAULT_PARKED", "settle_s": "DEFAULT_SETTLE_S"},
}
"""Options of the placement and parked scenarios, and the name of their default in the scenario's module."""


def say(message: str) -> None:
    """Progress, on stderr."""
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} {message}\n")
    sys.stderr.flush()


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default="history,throughput", help=f"comma-separated, of {', '.join(SCENARIOS)}")
    parser.add_argument("-n", "--n", type=int, default=200, help="throughput: purchases, and bare workflows")
    parser.add_argument(
        "-c",
        "--concurrency",
        type=int,
        default=50,
        help="at most this many customers at a time (bare: concurrent starts)",
    )
    parser.add_argument("--plan", choices=[p.value for p in FinancingPlan], default=FinancingPlan.LOAN_BATTERY.value)
    parser.add_argument("--warmup", type=int, default=3, help="throughput: carbuy purchases before the window")
    parser.add_argument("--sequential", type=int, default=3, help="bare: unloaded one-at-a-time workflows")
    parser.add_argument("--poll-s", type=float, default=0.5, help="each customer's status polling interval")
    parser.add_argument("--timeout", type=float, default=1800.0, help="longest a purchase or a bare run may take (s)")
    parser.add_argument("--workdir", default="/tmp/carbuy-perf", help="stacks' state and logs go under here")
    parser.add_argument("--json", type=Path, default=None, help="also write every result as JSON here")
    parser.add_argument(
        "--profile-worker",
        default=None,
        metavar="PATH",
        help="throughput: py-spy samples the carbuy worker over the window; collapsed stacks to PATH",
    )
    parser.add_argument(
        "--bare-from",
        type=Path,
        default=None,
        metavar="JSON",
        help="throughput: take the bare side from an earlier run's --json instead of running it (same plan, same K)",
    )
    parser.add_argument(
        "--placement-rates",
        type=_rates,
        default=None,
        metavar="R1,R2,...",
        help="placement: the ladder of orders/s (default: placement.py's)",
    )
    parser.add_argument("--placement-step-s", type=float, default=None, help="placement: seconds each rate is held")
    parser.add_argument("--placement-hold-s", type=float, default=None, help="placement: seconds the best is held")
    parser.add_argument(
        "--placement-unit",
        choices=["order", "order+deposit"],
        default=None,
        help="placement: carbuy's unit, the order alone or the order and its deposit charge",
    )
    parser.add_argument("-m", "--parked", type=int, default=None, help="parked: purchases to park (parked.py's)")
    parser.add_argument("--settle-s", type=float, default=None, help="parked: seconds before the readings")
    args = parser.parse_args()
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    return args


def _rates(text: str) -> list[float]:
    return [float(rate) for rate in text.split(",") if rate.strip()]


async def _scenario(name: str, args: argparse.Namespace, results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if name == "history":
        return await run_history(args, say)
    if name == "throughput":
        return await run_throughput(args, say, results.get("history", {}).get("plans"))
    try:
        module = importlib.import_module(f"bench.perf.{name}")
    except ModuleNotFoundError as missing:
        if missing.name != f"bench.perf.{name}":
            raise
        raise RuntimeError(f"scenario {name}: bench/perf/{name}.py is missing") from missing
    for option, default in OPTION_DEFAULTS[name].items():  # left unset: the scenario module's own default
        if getattr(args, option) is None:
            setattr(args, option, getattr(module, default))
    result: dict[str, Any] = await getattr(module, f"run_{name}")(args)
    return result


async def run(args: argparse.Namespace) -> tuple[dict[str, dict[str, Any]], bool]:
    """Run the chosen scenarios in order; every result and whether one failed."""
    results: dict[str, dict[str, Any]] = {}
    failed = False
    for name in (s for s in SCENARIOS if s in args.scenarios):
        say(f"== {name}")
        started = time.perf_counter()
        try:
            results[name] = await _scenario(name, args, results)
        except Exception as error:  # one scenario failing is reported; the others still run
            results[name] = {"error": repr(error), "traceback": traceback.format_exc()[-3000:]}
            say(f"!! {name} FAILED: {error!r}")
        results[name]["wall_s"] = time.perf_counter() - started
        this_failed = "error" in results[name] or bool(results[name].get("failed"))
        failed = failed or this_failed
        say(f"== {name} done in {results[name]['wall_s']:.0f}s{' (FAILED)' if this_failed else ''}")
    return results, failed


def main() -> None:
    """Run the benchmark, print its tables, write the JSON; exit 1 when a run failed."""
    args = _arguments()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    results, failed = asyncio.run(run(args))
    render(results, Console(width=160))
    if args.json is not None:
        meta = {
            "args": {k: v for k, v in vars(args).items() if k != "json"},
            "loadavg_at_end": os.getloadavg(),
            "failed": failed,
        }
        write_json(args.json, {"meta": meta, "results": results})
        say(f"JSON written to {args.json}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if failed else 0)  # the SDK's native threads can abort the interpreter at exit (sdk-python#300)


if __name__ == "__main__":
    main()
