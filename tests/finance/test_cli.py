"""`carbuy finance reconcile` and `carbuy finance report` as finance runs them, against the real servers."""

from __future__ import annotations

import csv
import io
import os
import subprocess
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from carbuy.contract.finance import SCHEDULE_ID
from carbuy.devtools.devstack import settings_env
from carbuy.devtools.processes import bin_path
from carbuy.runtime.settings import Settings
from carbuy.store.ledger import LedgerKind as K
from tests.finance.conftest import ROOT
from tests.finance.money import DEPOSIT_FEN, Money


@pytest.fixture
def db_url_any(tmp_path: Path) -> str:
    """The CLI's database: a SQLite file (the database kinds are covered by the other finance tests)."""
    return f"sqlite:///{tmp_path / 'carbuy.db'}"


def carbuy(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings_env(settings), "COLUMNS": "200"}
    return subprocess.run(
        [bin_path("carbuy"), "finance", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_reconcile_exits_0_on_a_clean_day_and_stores_its_report(
    settings: Settings, engine: Engine, money: Money, day: date, tmp_path: Path
) -> None:
    order = money.new_order()
    money.record(order, K.DEPOSIT_CHARGED, DEPOSIT_FEN, money.charge(order, "deposit", DEPOSIT_FEN))

    run = carbuy(settings, "reconcile", "--day", day.isoformat())
    written = carbuy(settings, "report", "--day", day.isoformat(), "--out", str(tmp_path / "report.html"))

    assert run.returncode == 0, run.stdout + run.stderr
    assert "clean: no discrepancy" in run.stdout
    assert "ledger rows" in run.stderr  # the progress bars
    assert written.returncode == 0, written.stderr
    assert "Clean: the ledger, the processor and the lender agree" in (tmp_path / "report.html").read_text()


def test_reconcile_exits_1_and_names_each_discrepancy_and_the_csv_report_lists_it(
    settings: Settings, engine: Engine, money: Money, day: date
) -> None:
    order = money.new_order()
    money.record(order, K.DEPOSIT_CHARGED, DEPOSIT_FEN, money.charge(order, "deposit", DEPOSIT_FEN))
    unrecorded = money.charge(order, "balance", 250_000)

    run = carbuy(settings, "reconcile", "--day", day.isoformat())
    printed = carbuy(settings, "report", "--day", day.isoformat(), "--format", "csv")

    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 discrepancies (missing_in_ledger: 1)" in run.stdout
    assert unrecorded in run.stdout
    rows = list(csv.DictReader(io.StringIO(printed.stdout)))
    assert [(r["type"], r["purchase_id"], r["reference"]) for r in rows] == [
        ("missing_in_ledger", f"purchase-{order}", unrecorded)
    ]


def test_report_of_a_day_never_reconciled_exits_1(settings: Settings, engine: Engine) -> None:
    shown = carbuy(settings, "report", "--day", "2020-01-01")

    assert shown.returncode == 1
    assert "no report for 2020-01-01" in shown.stderr


async def test_schedule_creates_the_daily_schedule_then_updates_it(
    settings: Settings, local_env: WorkflowEnvironment
) -> None:
    on_server = settings.model_copy(
        update={
            "temporal": settings.temporal.model_copy(
                update={"address": local_env.client.service_client.config.target_host}
            )
        }
    )

    first = carbuy(on_server, "schedule")
    again = carbuy(on_server, "schedule")
    handle = local_env.client.get_schedule_handle(SCHEDULE_ID)
    try:
        spec = (await handle.describe()).schedule.spec
    finally:
        await handle.delete()

    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"schedule {SCHEDULE_ID} created; next runs: ")
    assert again.stdout.startswith(f"schedule {SCHEDULE_ID} updated; next runs: ")
    assert (spec.time_zone_name, spec.intervals) == ("Asia/Shanghai", [])
    assert [hour.start for calendar in spec.calendars for hour in calendar.hour] == [2]  # the server's form of the cron
    assert first.stdout.count("T18:00:00+00:00") == 3  # 02:00 in Shanghai, the next three days
