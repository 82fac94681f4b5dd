"""Throughput and CPU cost, carbuy against bare Temporal, measured one after the other in the same run.

The bare side is the shared baseline's own scenario (bench/bare/baseline.py, unchanged): N chain workflows of K
no-op activities, K being the activity count (remote + local) of the measured carbuy plan. The carbuy side plays N
purchases of that plan, at most C customers at a time, on a fresh bench stack, and is measured the baseline's way
(same CPU snapshots and RSS sampler) over the window from the first order to the last completion.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil

from bench.bare import baseline
from bench.perf.customer import BenchCustomer, PurchaseRun, bench_http, create_cards, notifier_http
from bench.perf.history import measure_histories
from bench.perf.sides import bare_args as bare_stack_args
from bench.perf.stack import running_bench_stack, stack_processes
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.devtools.processes import bin_path
from carbuy.runtime.temporal import connect

WORKER_RATIO_GOAL = 1.3
"""carbuy worker CPU per activity ÷ bare worker CPU per activity"""
SERVER_RATIO_GOAL = 1.2
"""carbuy server CPU per purchase ÷ (bare server CPU per activity × K)"""


def bare_args(opts: Any, k: int) -> SimpleNamespace:
    """The baseline's arguments: its main()'s defaults, with N, C and the workdir from the CLI and K activities."""
    return SimpleNamespace(
        **vars(bare_stack_args(Path(opts.workdir) / "bare")),
        role="bench",
        n=opts.n,
        activities=k,
        concurrency=opts.concurrency,
        m=5000,
        wait="result",
        sequential=opts.sequential,
        repeats=1,
        scenarios="throughput",
        test_server=str(Path(sys.executable).parent / "temporal-test-server"),
        settle=3.0,
        timeout=opts.timeout,
        no_netns=False,
        try_v2=False,
        out=None,
        address=None,
        task_queue=None,
        ready_file=None,
        stats_file=None,
        json_out=None,
    )


async def run_bare(opts: Any, k: int, say: Callable[[str], None]) -> dict[str, Any]:
    """The baseline's throughput scenario with K activities per workflow; its result (with CPU per unit)."""
    say(f"bare: {opts.n} chain workflows × {k} activities, ≤ {opts.concurrency} concurrent starts")
    result: dict[str, Any] = await baseline.scenario_throughput(bare_args(opts, k), 0)
    baseline._per_unit_cpu(result)
    say(f"bare: {result['workflows_per_s']:.2f} workflows/s, CPU ms per activity {result['cpu_ms_per_activity']}")
    return result


async def run_carbuy(opts: Any, k: int, say: Callable[[str], None]) -> dict[str, Any]:
    """N purchases of the plan, ≤ C customers at a time, on a fresh bench stack, after a few warm-up purchases."""
    plan, n = FinancingPlan(opts.plan), opts.n
    async with running_bench_stack(Path(opts.workdir) / f"throughput-{int(time.time())}", say) as stack:
        procs = {**stack_processes(stack), "driver": psutil.Process()}
        say(f"carbuy: creating {2 * (n + opts.warmup)} cards")
        cards = await asyncio.to_thread(create_cards, stack.settings.stripe, n + opts.warmup)
        async with (
            bench_http(stack.settings, stack.api_url, connections=opts.concurrency) as http,
            notifier_http(stack.settings, connections=opts.concurrency) as notifier,
        ):
            customer = BenchCustomer(http, notifier, poll_s=opts.poll_s, timeout_s=opts.timeout)
            say(f"carbuy: {opts.warmup} warm-up purchases")
            await asyncio.gather(*(customer.buy(plan, card) for card in cards[: opts.warmup]))
            sampler = baseline.Sampler(procs).start()
            sampler.reset_peaks()
            say(f"carbuy: {n} purchases of {plan}, ≤ {opts.concurrency} customers at a time")
            slots = asyncio.Semaphore(opts.concurrency)
            ended: list[PurchaseRun] = []

            async def one(index: int) -> PurchaseRun:
                async with slots:
                    run = await customer.buy(plan, cards[opts.warmup + index])
                ended.append(run)
                return run

            async def progress() -> None:
                while True:
                    await asyncio.sleep(15)
                    say(f"  carbuy: {len(ended)}/{n} ended, {time.perf_counter() - started:.0f}s")

            profiler = _profile(procs["worker"].pid, opts.profile_worker) if opts.profile_worker else None
            before = baseline._cpu_snapshot(procs)
            started = time.perf_counter()
            reporter = asyncio.create_task(progress())
            try:
                outcomes = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
            finally:
                reporter.cancel()
                if profiler is not None:
                    profiler.send_signal(signal.SIGINT)
                    await asyncio.to_thread(profiler.wait, 60)
            wall = time.perf_counter() - started
            after = baseline._cpu_snapshot(procs)
            sampler.stop()
            runs = [o for o in outcomes if isinstance(o, PurchaseRun)]
            completed = [r for r in runs if r.completed]
            replay_ms = await _status_read_cost_ms(customer, procs, completed[0]) if completed else None
        failures = [repr(o) for o in outcomes if isinstance(o, BaseException)]
        failures += [f"{r.order_id} ended {r.stage}" for r in runs if not r.completed]
        server_ms = await _server_durations_ms(stack.settings, completed, opts.concurrency)
        tails = {name: stack.process(name).log_tail(10) for name in ("worker", "api")} if failures else {}
    cpu = baseline._cpu_delta(before, after, procs)
    latencies = [r.latency_s * 1000 for r in completed if r.latency_s is not None]
    result = {
        "plan": plan.value,
        "n": n,
        "activities_per_purchase": k,
        "concurrency": opts.concurrency,
        "warmup": opts.warmup,
        "poll_s": opts.poll_s,
        "wall_s": wall,
        "completed": len(latencies),
        "failures": failures,
        "purchases_per_s": len(latencies) / wall,
        "activities_per_s": len(latencies) * k / wall,
        "latency_client_ms": baseline._pct(latencies, (50, 95, 99)),
        "latency_server_ms": baseline._pct(server_ms, (50, 95, 99)),
        "api_calls": {
            "status_reads": sum(r.status_reads for r in runs),
            "actions": sum(r.actions for r in runs),
            "refused_actions": sum(r.refused for r in runs),
            "sms_reads": sum(r.sms_reads for r in runs),
        },
        "worker_ms_per_final_status_read": replay_ms,
        "peak_rss_mb": sampler.peaks_mb(),
        "cpu": cpu,
        "cpu_ms_per_purchase": {p: cpu[f"{p}_cpu_s"] * 1000 / n for p in procs},
        "cpu_ms_per_activity": {p: cpu[f"{p}_cpu_s"] * 1000 / (n * k) for p in procs},
        "log_tails": tails,
    }
    say(
        f"carbuy: {result['purchases_per_s']:.2f} purchases/s, {len(failures)} failed, "
        f"CPU ms per activity {result['cpu_ms_per_activity']}"
    )
    for failure in failures[:10]:
        say(f"  FAILED {failure}")
    return result


def _bare_from(path: Path, k: int) -> dict[str, Any]:
    """The bare side of an earlier run's JSON (to profile or compare carbuy alone); it must have the same K."""
    bare: dict[str, Any] = json.loads(path.read_text())["results"]["throughput"]["bare"]
    if bare["activities_per_workflow"] != k:
        raise ValueError(f"{path}: its bare run had K = {bare['activities_per_workflow']}, this plan has K = {k}")
    return bare


def _profile(pid: int, path: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the worker (every thread, without pausing it) until SIGINT; collapsed stacks to path."""
    return subprocess.Popen(
        [
            bin_path("py-spy"),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "200",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            path,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def _status_read_cost_ms(
    customer: BenchCustomer, procs: dict[str, psutil.Process], run: PurchaseRun, reads: int = 10
) -> float:
    """Worker CPU ms per status read of a completed purchase (a query the worker answers by replaying its
    history): each customer's last read costs this, inside the window. Measured after the window."""
    before = baseline._cpu_snapshot(procs)
    for _ in range(reads):
        await customer.status(run)
    return float(baseline._cpu_delta(before, baseline._cpu_snapshot(procs), procs)["worker_cpu_s"]) * 1000 / reads


async def _server_durations_ms(settings: Any, runs: list[PurchaseRun], limit: int) -> list[float]:
    """Each purchase's close − start, as the server saw it (read after the window)."""
    client = await connect(settings)

    async def duration(run: PurchaseRun) -> float:
        described = await client.get_workflow_handle(purchase_workflow_id(run.order_id)).describe()
        assert described.close_time is not None and described.start_time is not None
        return (described.close_time - described.start_time).total_seconds() * 1000

    return list(await baseline._bounded(runs, limit, duration))


def throughput_rows(carbuy: dict[str, Any], bare: dict[str, Any], history: dict[str, Any]) -> list[dict[str, Any]]:
    """Report rows: carbuy against bare, with the two CPU ratios against their goals (history: the plan's)."""
    k = carbuy["activities_per_purchase"]
    worker = carbuy["cpu_ms_per_activity"]["worker"]
    bare_worker = bare["cpu_ms_per_activity"]["worker"]
    server = carbuy["cpu_ms_per_purchase"]["server"]
    bare_server = bare["cpu_ms_per_activity"]["server"] * k
    worker_ratio, server_ratio = worker / bare_worker, server / bare_server
    c_lat, b_lat = carbuy["latency_client_ms"], bare["e2e_client_ms"] or {}
    rows = [
        _row("completed per s (purchases | workflows)", carbuy["purchases_per_s"], bare["workflows_per_s"]),
        _row("activities per s", carbuy["activities_per_s"], bare["activities_per_s"]),
        _row("e2e latency p50 ms (client)", c_lat["p50"], b_lat.get("p50")),
        _row("e2e latency p99 ms (client)", c_lat["p99"], b_lat.get("p99")),
        _row("e2e latency p50 ms (server)", carbuy["latency_server_ms"]["p50"], bare["e2e_server_ms"]["p50"]),
        _row(
            "worker CPU ms per activity",
            worker,
            bare_worker,
            f"ratio ≤ {WORKER_RATIO_GOAL}",
            worker_ratio <= WORKER_RATIO_GOAL,
        ),
        _row(
            f"server CPU ms per purchase (bare: per activity × {k})",
            server,
            bare_server,
            f"ratio ≤ {SERVER_RATIO_GOAL}",
            server_ratio <= SERVER_RATIO_GOAL,
        ),
        _row(
            "worker CPU ms per purchase | workflow",
            carbuy["cpu_ms_per_purchase"]["worker"],
            bare["cpu_ms_per_workflow"]["worker"],
        ),
        _row("status reads per purchase (API queries)", carbuy["api_calls"]["status_reads"] / carbuy["n"], None),
        _row("worker CPU ms per status read, completed purchase", carbuy["worker_ms_per_final_status_read"], None),
        _row("worker peak RSS MB", carbuy["peak_rss_mb"]["worker"], bare["worker_peak_rss_mb"]),
        _row("server peak RSS MB", carbuy["peak_rss_mb"]["server"], bare["server_peak_rss_mb"]),
    ]
    rows += [_row(f"{p} CPU s in window", carbuy["cpu"][f"{p}_cpu_s"], None) for p in ("api", "sandbox", "localstripe")]
    rows += [
        _row("driver CPU s in window", carbuy["cpu"]["driver_cpu_s"], bare["cpu"]["driver_cpu_s"]),
        _row("other processes CPU s", carbuy["cpu"]["other_processes_cpu_s"], bare["cpu"]["other_processes_cpu_s"]),
        _row("history events (bare: chain of K)", history["events"], bare["history"]["events"]),
        _row("history proto bytes (bare: chain of K)", history["proto_bytes"], bare["history"]["proto_bytesize"]),
        {
            "metric": "failed purchases",
            "carbuy": len(carbuy["failures"]),
            "bare": 0,
            "ratio": None,
            "goal": "0",
            "met": not carbuy["failures"],
        },
    ]
    return rows


def _row(
    metric: str, carbuy: float | None, bare: float | None, goal: str | None = None, met: bool | None = None
) -> dict[str, Any]:
    ratio = carbuy / bare if carbuy is not None and bare else None
    return {"metric": metric, "carbuy": carbuy, "bare": bare, "ratio": ratio, "goal": goal, "met": met}


async def run_throughput(
    opts: Any, say: Callable[[str], None], histories: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """K from the plan's history (measured now on a stack of its own unless given), then bare, then carbuy."""
    plan = FinancingPlan(opts.plan)
    if histories is None or plan.value not in histories:
        async with running_bench_stack(Path(opts.workdir) / f"k-{int(time.time())}", say) as stack:
            histories = await measure_histories(stack, [plan], poll_s=opts.poll_s)
    stats = histories[plan.value]
    k = stats["activities"]["total"]
    say(f"throughput: K = {k} activities per {plan} purchase ({stats['activities']})")
    bare = await run_bare(opts, k, say) if opts.bare_from is None else _bare_from(opts.bare_from, k)
    carbuy = await run_carbuy(opts, k, say)
    return {
        "k": k,
        "activities": stats["activities"],
        "carbuy": carbuy,
        "bare": bare,
        "rows": throughput_rows(carbuy, bare, stats),
        "failed": bool(carbuy["failures"]),
    }
