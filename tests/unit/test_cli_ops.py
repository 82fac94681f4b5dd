"""`carbuy ops extend --by`: durations as ops type them."""

from __future__ import annotations

from datetime import timedelta

import pytest
import typer

from carbuy.cli.ops import parse_duration


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2d", timedelta(days=2)),
        ("36h", timedelta(hours=36)),
        ("90m", timedelta(minutes=90)),
        ("1d12h", timedelta(days=1, hours=12)),
        (" 3d ", timedelta(days=3)),
        ("1d2h3m", timedelta(days=1, hours=2, minutes=3)),
    ],
)
def test_days_hours_and_minutes_are_understood(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "2x", "h", "-1d", "2 days", "12h1d"])
def test_anything_else_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="2d, 36h"):
        parse_duration(text)
