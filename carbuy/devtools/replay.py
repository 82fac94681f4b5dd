"""Replay histories from a Temporal server on today's workflow code: what ops run before deploying a new worker.

Each matching history is fetched and replayed with the worker's own data converter (so encrypted payloads decode)
and the SDK's default, strict sandbox (the production worker passes carbuy's workflow modules through; the strict
one intercepts a non-deterministic call in them). A history that does not replay means the new build would fail
that workflow's next task once it is evicted from a worker's cache: do not deploy it (docs/ops-runbook.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.worker import Replayer

from carbuy.contract.finance import RECONCILIATION_WORKFLOW
from carbuy.contract.purchase import WORKFLOW_NAME
from workflows.registry import WORKFLOWS

DEFAULT_QUERY = f"WorkflowType = '{WORKFLOW_NAME}' OR WorkflowType = '{RECONCILIATION_WORKFLOW}'"


@dataclass(frozen=True)
class ReplayFailure:
    """One history that did not replay."""

    workflow_id: str
    run_id: str
    error: str


@dataclass
class ReplayReport:
    """How many of the fetched histories replayed, and each failure."""

    total: int = 0
    failures: list[ReplayFailure] = field(default_factory=list)

    @property
    def replayed(self) -> int:
        """The histories that replayed cleanly."""
        return self.total - len(self.failures)

    @property
    def ok(self) -> bool:
        """Every history replayed."""
        return not self.failures

    def lines(self) -> list[str]:
        """`replayed N of M`, then one line per failure."""
        head = f"replayed {self.replayed} of {self.total}"
        return [head, *(f"FAILED {f.workflow_id} (run {f.run_id}): {f.error}" for f in self.failures)]


async def replay_histories(client: Client, query: str | None = None, limit: int | None = None) -> ReplayReport:
    """Fetch the histories matching a visibility query (default: every carbuy workflow) and replay each."""
    replayer = Replayer(workflows=WORKFLOWS, data_converter=client.data_converter)
    histories = client.list_workflows(query or DEFAULT_QUERY, limit=limit).map_histories()
    report = ReplayReport()
    async with replayer.workflow_replay_iterator(histories) as results:
        async for result in results:
            report.total += 1
            if result.replay_failure is not None:
                events = result.history.events
                run_id = (
                    events[0].workflow_execution_started_event_attributes.original_execution_run_id if events else ""
                )
                first = (str(result.replay_failure).strip().splitlines() or [type(result.replay_failure).__name__])[0]
                report.failures.append(ReplayFailure(result.history.workflow_id, run_id, first[:500]))
    return report
