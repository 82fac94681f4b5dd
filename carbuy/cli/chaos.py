"""`carbuy chaos`: many randomised purchases on a stack of its own, under faults, kills and restarts."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console


def chaos(
    purchases: Annotated[int, typer.Option(min=1, help="how many purchases")] = 20,
    seed: Annotated[int, typer.Option(help="draws plans, behaviours, faults and disruptions")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, help="purchases in flight at once")] = 20,
    fault_rate: Annotated[float, typer.Option(min=0, help="multiplies every partner fault rate (0: none)")] = 1.0,
    kills: Annotated[int, typer.Option(min=0, help="worker SIGKILLs, each followed by a restart")] = 2,
    temporal_restarts: Annotated[int, typer.Option(min=0, help="Temporal server restarts")] = 1,
    timeout_s: Annotated[float, typer.Option(min=1, help="every purchase must have ended by then")] = 600.0,
    stall_s: Annotated[
        float,
        typer.Option(
            min=1, help="give up on the purchases left when none has ended for this long (after every customer started)"
        ),
    ] = 300.0,
    deadline_floor_s: Annotated[float, typer.Option(min=0, help="shortest scaled window or SLA")] = 20.0,
    poll_s: Annotated[float, typer.Option(min=0.05, help="how often each customer reads its status")] = 0.5,
    disruption_delay_s: Annotated[
        float,
        typer.Option(
            min=0.1, help="longest pause before each disruption (one planned after every purchase has ended is skipped)"
        ),
    ] = 12.0,
    state_dir: Annotated[
        Path | None,
        typer.Option(help="keep state and logs here (default: a temporary directory, removed after a run that is OK)"),
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="also write the summary as JSON here")] = None,
) -> None:
    """Run N purchases with random plans, scenarios and customers under partner faults, SIGKILL the worker and
    restart Temporal meanwhile, play ops, then check every outcome and audit the money. Exit 0 only if all is well."""
    from carbuy.devtools.chaos.config import ChaosConfig
    from carbuy.devtools.chaos.render import render
    from carbuy.devtools.chaos.runner import run_chaos
    from carbuy.runtime.settings import Settings

    config = ChaosConfig(
        purchases=purchases,
        seed=seed,
        concurrency=concurrency,
        fault_rate=fault_rate,
        kills=kills,
        temporal_restarts=temporal_restarts,
        timeout_s=timeout_s,
        stall_s=stall_s,
        deadline_floor_s=deadline_floor_s,
        poll_s=poll_s,
        disruption_delay_s=disruption_delay_s,
        state_dir=state_dir,
    )
    summary = asyncio.run(run_chaos(config, Settings(), typer.echo))
    render(summary, Console(width=160))
    if json_file is not None:
        json_file.write_text(summary.model_dump_json(indent=2))
        typer.echo(f"summary written to {json_file}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0 if summary.ok else 1)  # without interpreter finalisation (sdk-python#300), as every command
