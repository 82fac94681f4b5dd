"""The benchmark's report: a table per scenario (metric | carbuy | bare | ratio | goal | met), the per-plan history
table, and the whole result as JSON.

Every scenario returns {"rows": [{"metric", "carbuy", "bare", "ratio", "goal", "met"}, ...], ...}; values may be
None (not measured on that side), goal a text such as "ratio ≤ 1.3", met True, False or None (no goal).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROW_KEYS = ("metric", "carbuy", "bare", "ratio", "goal", "met")


def fmt(value: Any) -> str:
    """A cell: numbers with a sensible precision, booleans as yes/NO, None as a dash."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def rows_table(title: str, rows: list[dict[str, Any]]) -> Table:
    """One scenario's rows."""
    table = Table(title=title, title_justify="left")
    for key in ROW_KEYS:
        table.add_column(key, justify="left" if key in ("metric", "goal") else "right")
    for row in rows:
        met = row.get("met")
        style = "red" if met is False else "green" if met else None
        table.add_row(*(fmt(row.get(key)) for key in ROW_KEYS), style=style)
    return table


def plans_table(plans: dict[str, dict[str, Any]]) -> Table:
    """The history of one purchase per plan: events, bytes, activities and the most frequent event types."""
    table = Table(title="history per plan", title_justify="left")
    for name in ("plan", "events", "proto bytes", "remote act.", "local act.", "total act.", "event types"):
        table.add_column(name, justify="left" if name in ("plan", "event types") else "right")
    for plan, stats in plans.items():
        activities = stats["activities"]
        types = ", ".join(f"{kind} {count}" for kind, count in stats["event_types"].items())
        table.add_row(
            plan,
            fmt(stats["events"]),
            fmt(stats["proto_bytes"]),
            fmt(activities["remote"]),
            fmt(activities["local"]),
            fmt(activities["total"]),
            types,
        )
    return table


def render(results: dict[str, dict[str, Any]], console: Console) -> None:
    """Print every scenario's tables (a failed scenario: its error)."""
    for scenario, result in results.items():
        if "error" in result:
            console.print(f"[red]{scenario}: FAILED {result['error']}[/red]")
            continue
        if "plans" in result:
            console.print(plans_table(result["plans"]))
        if result.get("rows"):
            console.print(rows_table(scenario, result["rows"]))


def write_json(path: Path, document: dict[str, Any]) -> None:
    """The whole result as JSON (non-JSON values as text)."""
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
