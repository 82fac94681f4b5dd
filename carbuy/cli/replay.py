"""`carbuy replay`: replay the configured server's histories on today's code (run it before deploying a worker)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Annotated

import typer


def replay(
    query: Annotated[
        str | None,
        typer.Option(help="a visibility list filter (default: every PurchaseWorkflow and ReconciliationWorkflow)"),
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="replay at most this many (default: all that match)")] = None,
) -> None:
    """Fetch the matching histories and replay each with the worker's converter and the strict sandbox.

    Prints `replayed N of M` and each failure; exit 1 if any history does not replay, 2 if the server cannot
    be reached or refuses the query.
    """
    from temporalio.service import RPCError

    from carbuy.devtools.replay import replay_histories
    from carbuy.runtime.settings import Settings
    from carbuy.runtime.temporal import TemporalConnectionError, connect

    async def run() -> int:
        settings = Settings()
        try:
            client = await connect(settings)
            report = await replay_histories(client, query, limit)
        except TemporalConnectionError as err:
            sys.stderr.write(f"replay not run: {err}\n")
            return 2
        except RPCError as err:
            sys.stderr.write(f"replay not run: the server refused: {err.message}\n")
            return 2
        sys.stdout.write("\n".join(report.lines()) + "\n")
        return 0 if report.ok else 1

    code = asyncio.run(run())
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # without interpreter finalisation (sdk-python#300), as every command
