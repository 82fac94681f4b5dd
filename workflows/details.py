"""The current details a person reads in the Web UI: what the purchase waits for, since when, until when, why
it needs attention, and the last partner answer. Plain words and markdown; no personal data."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflows.tracker import Tracker


def _at(moment: datetime | None) -> str:
    return "no deadline" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def render(t: Tracker) -> str:
    """The details text for the tracker's current state."""
    lines = [f"**Stage** {t.stage.value} · **state** {t.state.value}"]
    if t.attention:
        lines.append(f"**Needs attention** since {_at(t.stuck_since)}:")
        lines.extend(f"- {why}" for why in t.attention.values())
    for wait in t.waits:
        deadline = "SLA breached" if wait.breached else f"deadline {_at(wait.deadline)}"
        retry = " (ops can retry)" if wait.retryable else ""
        lines.append(f"**Waiting for** {wait.what} since {_at(wait.since)}, {deadline}{retry}")
    if t.last_partner_answer:
        lines.append(f"**Last partner answer** {t.last_partner_answer}")
    if t.reason and not t.waits:
        lines.append(f"**Reason** {t.reason}")
    return "\n\n".join(lines)
