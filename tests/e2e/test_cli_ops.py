"""`carbuy ops` against the stack: it lists and shows stuck purchases, and exits non-zero with the API's detail."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from carbuy.devtools.devstack import settings_env
from tests.e2e.conftest import Stack
from tests.e2e.stuck import StuckPurchase
from tests.eventually import eventually

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WHO = ("--operator", "wang.fang", "--reason", "checked with the partner")


async def carbuy(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the carbuy command against the stack (its settings as CARBUY_* variables)."""
    env = {**os.environ, **settings_env(stack.settings), "COLUMNS": "200"}
    argv = [str(Path(sys.executable).parent / "carbuy"), *args]
    return await asyncio.to_thread(subprocess.run, argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


async def test_an_api_error_exits_1_with_its_detail_on_stderr(stack: Stack) -> None:
    unknown = await carbuy(stack, "ops", "retry", "NO-SUCH-ORDER", *WHO)
    invalid = await carbuy(stack, "ops", "retry", "NO-SUCH-ORDER", "--operator", "wang fang", "--reason", "why")

    assert (unknown.returncode, unknown.stdout) == (1, "")
    assert unknown.stderr.strip() == "error 404: no purchase for order 'NO-SUCH-ORDER'"
    assert invalid.returncode == 1 and invalid.stderr.startswith("error 422: ") and "operator" in invalid.stderr


async def test_a_wrong_ops_token_exits_1_with_401(stack: Stack) -> None:
    stack_env = settings_env(stack.settings)
    env = {**os.environ, **stack_env, "CARBUY_API__OPS_TOKEN": "not-the-token"}
    argv = [str(Path(sys.executable).parent / "carbuy"), "ops", "stuck"]
    run = await asyncio.to_thread(subprocess.run, argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert run.returncode == 1 and run.stderr.strip() == "error 401: missing or wrong bearer token"


async def test_ops_stuck_lists_the_stuck_purchase_in_a_table(stack: Stack, stuck_loan: StuckPurchase) -> None:

    async def listed() -> subprocess.CompletedProcess[str]:  # visibility is eventually consistent
        run = await carbuy(stack, "ops", "stuck", "--city", "Guangzhou", "--plan", "loan")
        assert stuck_loan.order_id in run.stdout, f"{stuck_loan.order_id} not listed: {run.stdout}{run.stderr}"
        return run

    run = await eventually(listed, timeout=30, interval=0.5)
    assert run.returncode == 0, run.stderr
    [line] = [line for line in run.stdout.splitlines() if stuck_loan.order_id in line]
    assert "financing" in line and "Guangzhou" in line and "loan" in line
    assert "NeedsAttention = true AND City = 'Guangzhou'" in run.stdout


async def test_ops_show_prints_why_the_purchase_is_stuck(stack: Stack, stuck_loan: StuckPurchase) -> None:
    run = await carbuy(stack, "ops", "show", stuck_loan.order_id)

    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    assert shown["status"]["attention"]["needed"] is True and shown["search_attributes"]["NeedsAttention"] is True


async def test_an_ops_action_refused_in_this_stage_exits_1_with_the_stage(
    stack: Stack, stuck_loan: StuckPurchase
) -> None:
    run = await carbuy(
        stack,
        "ops",
        "correct-registration",
        stuck_loan.order_id,
        *WHO,
        "--owner-name",
        "Li Lei",
        "--owner-id-number",
        "11010519491231002X",
    )

    assert run.returncode == 1 and run.stderr.startswith("error 409: ") and "stage financing" in run.stderr
