"""A workflow that reads the wall clock: the non-deterministic call the tests' worker must refuse."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


@workflow.defn(name="carbuy-test-clock-probe")
class ClockProbe:
    """Returns datetime.now(): allowed only where the sandbox does not intercept this module."""

    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()
