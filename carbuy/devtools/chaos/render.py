"""A chaos run's summary as rich tables."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from carbuy.devtools.chaos.plan import DisruptionKind, Outcome
from carbuy.devtools.chaos.summary import ChaosSummary

PLANNED = (Outcome.COMPLETED, Outcome.CANCELLED_WITH_FEE, Outcome.CANCELLED_NO_FEE)
MAX_ROWS = 40


def render(summary: ChaosSummary, console: Console) -> None:
    """Print outcomes by plan, mismatches, faults, disruptions, ops and the audit, then the verdict."""
    console.print(_outcomes(summary))
    if summary.mismatches:
        console.print(_mismatches(summary))
    console.print(_faults(summary))
    console.print(_disruptions(summary))
    ops = ", ".join(f"{k} {v}" for k, v in sorted(summary.ops_actions.items())) or "none"
    console.print(
        f"ops actions: {ops}; refused: {len(summary.ops_refused)}; API unavailable (retried): {summary.api_unavailable}"
    )
    audit = summary.audit
    if not audit.ran:
        console.print(f"[red]money audit did not run: {audit.error}[/red]")
    else:
        console.print(f"money audit: {audit.purchases} purchases, {len(audit.discrepancies)} discrepancies")
        for line in audit.discrepancies[:MAX_ROWS]:
            console.print(f"  [red]{line}[/red]")
    replay = summary.replay
    if not replay.ran:
        console.print(f"[red]replay did not run: {replay.error}[/red]")
    else:
        console.print(f"replayed {replay.replayed} of {replay.total} histories on today's code")
        for line in replay.failures[:MAX_ROWS]:
            console.print(f"  [red]{line}[/red]")
    for problem in summary.problems:
        console.print(f"[red]problem: {problem}[/red]")
    verdict = "[green]OK[/green]" if summary.ok else "[red]NOT OK[/red]"
    console.print(
        f"{verdict}: {len(summary.purchases)} purchases, {len(summary.mismatches)} mismatches, "
        f"{len(summary.waiting)} waiting, {len(summary.unreadable)} unreadable, "
        f"{len(replay.failures) if replay.ran else 'unchecked'} unreplayable, {summary.faults_total} faults, "
        f"{summary.kills} worker kills, "
        f"{summary.temporal_restarts} Temporal restarts, {len(audit.discrepancies)} discrepancies; "
        f"wall {summary.wall_s:.1f}s (stack up in {summary.stack_up_s:.1f}s), seed {summary.seed}"
    )


def _outcomes(summary: ChaosSummary) -> Table:
    expected = Counter(p.expected for p in summary.purchases)
    table = Table(title="purchases by plan and outcome reached (expected in the last row)", title_justify="left")
    table.add_column("plan")
    extra = (Outcome.FAILED, Outcome.WAITING, Outcome.UNREADABLE)
    outcomes = [*PLANNED, *(o for o in extra if summary.by_outcome.get(o.value))]
    for outcome in outcomes:
        table.add_column(outcome.value, justify="right")
    table.add_column("total", justify="right")
    for plan, counted in sorted(summary.by_plan().items()):
        table.add_row(plan, *(str(counted[o]) for o in outcomes), str(sum(counted.values())))
    reached = Counter(p.reached for p in summary.purchases)
    table.add_row("[bold]all[/bold]", *(str(reached[o]) for o in outcomes), str(len(summary.purchases)))
    table.add_row("[dim]expected[/dim]", *(str(expected[o]) for o in outcomes), str(len(summary.purchases)))
    return table


def _mismatches(summary: ChaosSummary) -> Table:
    table = Table(title=f"{len(summary.mismatches)} purchases did not reach what they should", title_justify="left")
    for column in ("order", "plan", "scenarios", "behaviour", "expected", "reached", "stage", "why / waits for"):
        table.add_column(column)
    for p in [p for p in summary.purchases if not p.ok][:MAX_ROWS]:
        why = "; ".join([*p.waiting_for, *p.attention, *p.problems, *([p.temporal] if p.temporal else [])])
        why = why or p.reason or ""
        if (p.reason or "").startswith("expired") and "abandon" not in p.behaviour:
            why += " (a customer who acted was expired: a defect of carbuy)"
        table.add_row(
            p.order_id,
            p.plan,
            ",".join(p.scenarios),
            p.behaviour,
            p.expected.value,
            p.reached.value,
            p.stage or "?",
            why[:200],
        )
    return table


def _faults(summary: ChaosSummary) -> Table:
    kinds = sorted({kind for counted in summary.faults_injected.values() for kind, n in counted.items() if n})
    table = Table(title=f"faults injected by the sandbox: {summary.faults_total}", title_justify="left")
    table.add_column("institution")
    for kind in kinds:
        table.add_column(kind, justify="right")
    for institution, counted in sorted(summary.faults_injected.items()):
        if any(counted.values()):
            table.add_row(institution, *(str(counted.get(kind, 0)) for kind in kinds))
    return table


def _disruptions(summary: ChaosSummary) -> Table:
    table = Table(
        title=f"disruptions: {summary.kills} worker kills, {summary.temporal_restarts} Temporal restarts",
        title_justify="left",
    )
    for column in ("at (s)", "kind", "down (s)", "recovered (s)", "held", "retried", "kill → retry (s)", "detail"):
        table.add_column(column)
    for d in summary.disruptions:
        recovered = "never" if d.recovered_s is None else f"{d.recovered_s:.1f}"
        detail = d.detail + (f" [red]{d.problem}[/red]" if d.problem else "")
        killed = d.kind is DisruptionKind.WORKER_KILL
        retry = "" if d.first_retry_s is None else f"{d.first_retry_s:.1f}–{d.last_retry_s:.1f}"
        held, retried = (str(d.held), str(d.retried)) if killed else ("", "")
        table.add_row(f"{d.at_s:.1f}", d.kind.value, f"{d.down_s:.1f}", recovered, held, retried, retry, detail)
    return table
