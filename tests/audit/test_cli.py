"""`carbuy audit money` as ops run it: a table and exit 1 on a discrepancy, JSON on demand, exit 0 when clean."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from carbuy.devtools.devstack import settings_env
from carbuy.devtools.processes import bin_path
from carbuy.runtime.settings import Settings
from tests.audit.shop import DEPOSIT_FEN, Shop, key
from tests.finance.conftest import ROOT


@pytest.fixture
def db_url_any(tmp_path: Path) -> str:
    """The CLI's database: a SQLite file (test_money.py covers both kinds)."""
    return f"sqlite:///{tmp_path / 'carbuy.db'}"


def carbuy(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **settings_env(settings), "COLUMNS": "200"}
    return subprocess.run(
        [bin_path("carbuy"), "audit", "money", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_audit_money_exits_1_and_shows_the_purchase_with_a_difference(settings: Settings, shop: Shop) -> None:
    clean = await shop.completed_loan_purchase()
    order = shop.new_order()
    unrecorded = shop.money.charge(order, "deposit", DEPOSIT_FEN, key=key(order, "deposit-1"))

    shown = carbuy(settings)
    as_json = carbuy(settings, "--json")

    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert order in shown.stdout and unrecorded in shown.stdout and clean not in shown.stdout
    assert "2 purchases audited" in shown.stdout and "1 discrepancies (missing_in_ledger: 1)" in shown.stdout
    assert as_json.returncode == 1, as_json.stderr
    answer = json.loads(as_json.stdout)
    assert (answer["ok"], answer["purchases_audited"], answer["by_kind"]) == (False, 2, {"missing_in_ledger": 1})
    assert [(d["order_ref"], d["kind"], d["reference"]) for d in answer["discrepancies"]] == [
        (order, "missing_in_ledger", unrecorded)
    ]


async def test_audit_money_of_a_clean_order_exits_0(settings: Settings, shop: Shop) -> None:
    clean = await shop.completed_loan_purchase()
    shop.money.charge(shop.new_order(), "deposit", DEPOSIT_FEN)  # not asked about

    shown = carbuy(settings, "--order", clean)

    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "1 purchases audited" in shown.stdout and "clean" in shown.stdout
    assert "purchases with a difference" not in shown.stdout
