"""The carbuy side of the benchmarks: a stack of its own on free ports, tuned to measure carbuy, not its partners.

Partners answer at once (no callback delay, no faults), the months of a purchase pass in seconds, and no
customer window can expire under load. The Temporal dev server runs as the bare baseline runs it: headless, on an
on-disk SQLite file of its own, log level error, with its metrics on a port of its own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psutil

from carbuy.devtools.devstack import DevStack, stack_settings
from carbuy.devtools.processes import free_port
from carbuy.runtime.settings import Settings

BENCH_TIME_SCALE = 4 / (90 * 86_400)
"""90 days of policy become 4 s: the first service is due about 4 s after handover."""

BENCH_DEADLINE_FLOOR_S = 3600.0
"""No customer window or SLA shorter than an hour: a purchase never expires or breaches under load."""


def bench_stack(
    base: Settings,
    state_dir: Path,
    *,
    time_scale: float = BENCH_TIME_SCALE,
    deadline_floor_s: float = BENCH_DEADLINE_FLOOR_S,
) -> DevStack:
    """A stack on free ports with its state under state_dir; call `await stack.start()`, then `stack.stop()`."""
    temporal_port, ui_port, localstripe_port = free_port(), free_port(), free_port()
    settings = stack_settings(
        base,
        temporal_port=temporal_port,
        ui_port=ui_port,
        localstripe_port=localstripe_port,
        api_port=free_port(),
        sandbox_port=free_port(),
        codec_port=free_port(),
        state_dir=state_dir,
        time_scale=time_scale,
        deadline_floor_s=deadline_floor_s,
    )
    settings = settings.model_copy(
        update={
            "sandbox": settings.sandbox.model_copy(update={"callback_delay_s": 0.0, "latency_ms": 0}),
        }
    )
    temporal_args = ["--headless", "--log-level", "error", "--metrics-port", str(free_port())]
    return DevStack(settings, state_dir, temporal_port, ui_port, localstripe_port, temporal_args=temporal_args)


@contextlib.asynccontextmanager
async def running_bench_stack(
    state_dir: Path,
    say: Callable[[str], None] = lambda _: None,
) -> AsyncIterator[DevStack]:
    """A bench stack under state_dir, started, and stopped on the way out (also on failure)."""
    stack = bench_stack(Settings(), state_dir)
    started = time.monotonic()
    await stack.start()
    say(f"bench stack up in {time.monotonic() - started:.1f}s (state in {state_dir})")
    try:
        yield stack
    finally:
        stack.stop()


def stack_processes(stack: DevStack) -> dict[str, psutil.Process]:
    """The processes to measure, by the names the bare baseline uses: worker and server (the Temporal dev server).

    The API, the sandbox and localstripe are measured apart (api, sandbox, localstripe): they have no bare
    counterpart.
    """
    names = {"worker": "worker", "server": "temporal", "api": "api", "sandbox": "sandbox", "localstripe": "localstripe"}
    found: dict[str, psutil.Process] = {}
    for key, name in names.items():
        pid = stack.process(name).pid
        if pid is not None:
            found[key] = psutil.Process(pid)
    return found


def temporal_metrics_url(stack: DevStack) -> str:
    """The Temporal dev server's Prometheus endpoint of a bench stack."""
    port = stack.temporal_args[stack.temporal_args.index("--metrics-port") + 1]
    return f"http://127.0.0.1:{port}/metrics"
