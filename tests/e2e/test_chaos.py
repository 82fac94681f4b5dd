"""`carbuy chaos` end to end: a stack of its own, randomised purchases under partner faults, a worker SIGKILL and a
Temporal restart; every purchase must end where its plan says, with clean money."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from carbuy.devtools.chaos.plan import Outcome, plan_purchases
from carbuy.devtools.processes import bin_path

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def _chaos(tmp_path: Path, *args: str, timeout_s: float) -> tuple[int, dict[str, Any], str, float]:
    summary = tmp_path / "summary.json"
    started = time.monotonic()
    done = subprocess.run(
        [bin_path("carbuy"), "chaos", *args, "--state-dir", str(tmp_path / "state"), "--json", str(summary)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    output = done.stdout + done.stderr
    assert summary.exists(), output
    return done.returncode, json.loads(summary.read_text()), output, time.monotonic() - started


def _assert_clean(code: int, summary: dict[str, Any], output: str, *, purchases: int) -> None:
    mismatched = [p for p in summary["purchases"] if p["expected"] != p["reached"]]
    assert mismatched == [], output
    assert summary["waiting"] == [], output
    assert summary["audit"]["ran"] and summary["audit"]["ok"], output
    assert summary["audit"]["purchases"] == purchases
    assert summary["problems"] == [], output
    assert [d for d in summary["disruptions"] if d["problem"]] == [], output
    replay = summary["replay"]
    assert replay["ran"] and replay["failures"] == [], output
    assert replay["replayed"] == replay["total"] >= purchases  # every purchase's history, on today's code
    assert summary["ok"] is True
    assert code == 0, output


def test_a_short_chaos_run_ends_every_purchase_where_it_should_with_clean_money(tmp_path: Path) -> None:
    code, summary, output, _ = _chaos(
        tmp_path,
        "--purchases",
        "12",
        "--seed",
        "5",
        "--concurrency",
        "12",
        "--kills",
        "1",
        # the runner's own shortest window (20 s): an activity held by a killed worker is retried within
        # seconds (heartbeats), and a customer who acted in time is never expired (IN_TIME_ACTIONS)
        "--temporal-restarts",
        "1",
        "--timeout-s",
        "130",
        # short pauses before each disruption, so both strike while the 12 purchases still run (a disruption
        # planned after every purchase has ended is skipped, and the restart the issue asks for would be missing)
        "--disruption-delay-s",
        "3",
        timeout_s=160,
    )

    _assert_clean(code, summary, output, purchases=12)
    assert summary["kills"] >= 1 and summary["temporal_restarts"] >= 1
    assert all(d["recovered_s"] is not None for d in summary["disruptions"])
    assert summary["faults_total"] > 0
    planned = {p.order_id: p.expected.value for p in plan_purchases(12, 5)}
    assert {p["order_id"]: p["expected"] for p in summary["purchases"]} == planned
    reached = {p["reached"] for p in summary["purchases"]}
    assert {Outcome.COMPLETED.value, Outcome.CANCELLED_WITH_FEE.value, Outcome.CANCELLED_NO_FEE.value} <= reached
    assert "Temporal restarts" in output and "money audit: 12 purchases, 0 discrepancies" in output


@pytest.mark.slow
def test_a_larger_chaos_run_with_more_kills_and_restarts_stays_clean(tmp_path: Path) -> None:
    code, summary, output, _ = _chaos(
        tmp_path,
        "--purchases",
        "100",
        "--seed",
        "17",
        "--concurrency",
        "25",
        "--kills",
        "4",
        "--temporal-restarts",
        "2",
        "--fault-rate",
        "1.5",
        "--timeout-s",
        "900",
        timeout_s=1200,
    )

    _assert_clean(code, summary, output, purchases=100)
    assert summary["kills"] >= 3 and summary["temporal_restarts"] >= 1
