"""Scenario: M purchases parked at a customer wait, carbuy beside bare Temporal (the baseline's scenario (c)).

  bare    M `ParkedWorkflow`s (each waits in workflow.wait_condition for a signal that is never sent here);
  carbuy  M orders through POST /orders; each purchase then waits for its deposit (a customer wait).
At most `concurrency` starts at once. A side is parked when the dev server's frontend has completed M more
workflow tasks (its RespondWorkflowTaskCompleted counter; the baseline's scraper counts each task twice); after
settle_s seconds the worker's RSS and the Temporal database's bytes (SQLite file with its -wal/-shm) are read and
compared with their values on the idle stack. carbuy's own database (carbuy.db) is reported apart: bare has none.
Bare first, then carbuy, each on a fresh stack.

opts fields read:
  parked        M, purchases to park (DEFAULT_PARKED)
  concurrency   most starts at once (DEFAULT_CONCURRENCY)
  settle_s      seconds between "all parked" and the readings (DEFAULT_SETTLE_S, the baseline's --settle)
  workdir       where the stacks keep their files
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import psutil
from temporalio.client import Client

from bench.bare import baseline
from bench.perf.customer import bench_http
from bench.perf.sides import bare_metrics_url, bare_stack, new_tag, place_order, wft_completed
from bench.perf.stack import running_bench_stack, stack_processes, temporal_metrics_url
from carbuy.runtime.temporal import connect

DEFAULT_PARKED = 10_000
DEFAULT_CONCURRENCY = 50
DEFAULT_SETTLE_S = 3.0
RATIO_GOAL = 1.5


def _park_timeout_s(m: int) -> float:
    """A safety net only: far above the baseline's 35 parked/s."""
    return 300.0 + m * 0.5


async def park(
    m: int,
    concurrency: int,
    settle_s: float,
    *,
    start: Callable[[int], Awaitable[object]],
    metrics_url: str,
    sampler: baseline.Sampler,
    client: Client,
    dbs: dict[str, str],
) -> dict[str, Any]:
    """Start m parked workflows through `start`, wait until all parked, settle; the readings."""
    procs = sampler.procs
    wft = partial(wft_completed, metrics_url)
    rss_idle = sampler.now_mb()
    db_empty = {name: baseline._db_size(path) for name, path in dbs.items()}
    wft0 = await asyncio.to_thread(wft)
    latencies: list[float] = []

    async def one(i: int) -> None:
        t = time.perf_counter()
        await start(i)
        latencies.append((time.perf_counter() - t) * 1000)

    sampler.reset_peaks()
    c0 = baseline._cpu_snapshot(procs)
    t0 = time.perf_counter()
    await baseline._bounded(range(m), concurrency, one)
    started_s = time.perf_counter() - t0
    deadline = time.monotonic() + _park_timeout_s(m)
    while (done := await asyncio.to_thread(wft) - wft0) < m:
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {done:.0f} of {m} parked")
        await asyncio.sleep(0.2)
    parked_s = time.perf_counter() - t0
    cpu = baseline._cpu_delta(c0, baseline._cpu_snapshot(procs), procs)
    peaks = sampler.peaks_mb()
    await asyncio.sleep(settle_s)
    rss_parked = sampler.now_mb()
    db_parked = {name: baseline._db_size(path) for name, path in dbs.items()}
    return {
        "m": m,
        "concurrency": concurrency,
        "start_wall_s": started_s,
        "starts_per_s": m / started_s,
        "start_latency_ms": baseline._pct(latencies),
        "time_to_all_parked_s": parked_s,
        "parked_per_s": m / parked_s,
        "running_after_park": (await client.count_workflows('ExecutionStatus="Running"')).count,
        "wft_completed_per_workflow": (await asyncio.to_thread(wft) - wft0) / m,
        "rss_idle_mb": rss_idle,
        "rss_parked_mb": rss_parked,
        "peak_rss_start_phase_mb": peaks,
        "db_bytes_empty": db_empty,
        "db_bytes_parked": db_parked,
        "cpu_park_phase": cpu,
        "cpu_ms_per_parked": {name: cpu[f"{name}_cpu_s"] * 1000 / m for name in procs},
        "worker_rss_parked_mb": rss_parked["worker"],
        "worker_rss_growth_kb_per_parked": (rss_parked["worker"] - rss_idle["worker"]) * 1024 / m,
        "server_storage_kb_per_parked": (db_parked["temporal"] - db_empty["temporal"]) / 1024 / m,
    }


async def bare_parked(m: int, concurrency: int, settle_s: float, workdir: str) -> dict[str, Any]:
    """The bare side: M ParkedWorkflows on a fresh baseline stack."""
    async with bare_stack(workdir, new_tag("park-bare")) as st:

        async def start(i: int) -> None:
            await st.client.start_workflow(
                baseline.ParkedWorkflow.run,
                baseline.ChainInput(order_id=f"p-{i}", steps=0),
                id=f"p-{i}",
                task_queue=st.task_queue,
            )

        return await park(
            m,
            concurrency,
            settle_s,
            start=start,
            metrics_url=bare_metrics_url(st),
            sampler=st.sampler,
            client=st.client,
            dbs={"temporal": st.db},
        )


async def carbuy_parked(m: int, concurrency: int, settle_s: float, workdir: str) -> dict[str, Any]:
    """The carbuy side: M orders through the API on a fresh bench stack, each waiting for its deposit."""
    async with (
        running_bench_stack(Path(workdir) / new_tag("park-carbuy")) as stack,
        bench_http(stack.settings, stack.api_url, connections=concurrency, timeout_s=60.0) as http,
    ):
        sampler = baseline.Sampler({**stack_processes(stack), "driver": psutil.Process()}).start()
        try:
            client = await connect(stack.settings)
            result = await park(
                m,
                concurrency,
                settle_s,
                start=lambda _: place_order(http),
                metrics_url=temporal_metrics_url(stack),
                sampler=sampler,
                client=client,
                dbs={"temporal": str(stack.state_dir / "temporal.db"), "carbuy": str(stack.state_dir / "carbuy.db")},
            )
        finally:
            sampler.stop()
    growth = result["db_bytes_parked"]["carbuy"] - result["db_bytes_empty"]["carbuy"]
    return {**result, "carbuy_db_kb_per_parked": growth / 1024 / m}


def _ratio_row(metric: str, carbuy: float, bare: float) -> dict[str, Any]:
    ratio = carbuy / bare if bare > 0 else None
    return {
        "metric": metric,
        "carbuy": carbuy,
        "bare": bare,
        "ratio": ratio,
        "goal": f"÷ bare ≤ {RATIO_GOAL:g}",
        "met": ratio is not None and ratio <= RATIO_GOAL,
    }


def _info_row(metric: str, carbuy: float, bare: float | str) -> dict[str, Any]:
    ratio = carbuy / bare if isinstance(bare, float) and bare > 0 else None
    return {"metric": metric, "carbuy": carbuy, "bare": bare, "ratio": ratio, "goal": "information", "met": None}


def rows(carbuy: dict[str, Any], bare: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's rows: carbuy, bare, carbuy ÷ bare and the goal."""
    m = carbuy["m"]
    return [
        _ratio_row(
            f"parked: worker RSS with {m} parked (MB)", carbuy["worker_rss_parked_mb"], bare["worker_rss_parked_mb"]
        ),
        _ratio_row(
            "parked: worker RSS growth over idle per purchase (KB)",
            carbuy["worker_rss_growth_kb_per_parked"],
            bare["worker_rss_growth_kb_per_parked"],
        ),
        _ratio_row(
            "parked: server storage per purchase (KB)",
            carbuy["server_storage_kb_per_parked"],
            bare["server_storage_kb_per_parked"],
        ),
        _info_row("parked: carbuy DB growth per purchase (KB)", carbuy["carbuy_db_kb_per_parked"], "n/a"),
        _info_row("parked: start rate (starts/s)", carbuy["starts_per_s"], bare["starts_per_s"]),
        _info_row("parked: parked per s, until all parked", carbuy["parked_per_s"], bare["parked_per_s"]),
    ]


async def run_parked(opts: Any) -> dict[str, Any]:
    """The parked scenario on both sides, one after the other; rows and details."""
    m, concurrency, settle_s = opts.parked, opts.concurrency, opts.settle_s
    bare = await bare_parked(m, concurrency, settle_s, opts.workdir)
    baseline._log(f"parked bare: {m} parked in {bare['time_to_all_parked_s']:.1f} s")
    carbuy = await carbuy_parked(m, concurrency, settle_s, opts.workdir)
    baseline._log(f"parked carbuy: {m} parked in {carbuy['time_to_all_parked_s']:.1f} s")
    return {"rows": rows(carbuy, bare), "details": {"bare": bare, "carbuy": carbuy}}
