"""The processes behave as operators expect: the worker drains on SIGTERM, `carbuy dev` stops all it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from carbuy.devtools.devstack import settings_env
from carbuy.devtools.processes import ManagedProcess, free_port, port_in_use
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_stops_cleanly_on_sigterm(stack: Stack, tmp_path: Path) -> None:
    worker = ManagedProcess(
        "worker-2", [sys.executable, "worker.py"], tmp_path / "worker.log", env=settings_env(stack.settings), cwd=ROOT
    ).start()
    deadline = time.monotonic() + 30
    while "worker polling" not in worker.log_tail() and time.monotonic() < deadline:
        assert worker.running, worker.log_tail()
        time.sleep(0.1)
    assert worker.popen is not None
    worker.popen.send_signal(signal.SIGTERM)
    assert worker.popen.wait(timeout=30) == 0, worker.log_tail()
    assert "worker stopped" in worker.log_tail()


def _dev_env(tmp_path: Path) -> tuple[dict[str, str], dict[str, int]]:
    ports = {name: free_port() for name in ("API", "SANDBOX", "TEMPORAL", "UI", "STRIPE")}
    env = {
        **os.environ,
        "CARBUY_API__PORT": str(ports["API"]),
        "CARBUY_SANDBOX__PORT": str(ports["SANDBOX"]),
        "CARBUY_DEV__TEMPORAL_PORT": str(ports["TEMPORAL"]),
        "CARBUY_DEV__TEMPORAL_UI_PORT": str(ports["UI"]),
        "CARBUY_DEV__LOCALSTRIPE_PORT": str(ports["STRIPE"]),
        "CARBUY_DEV__STATE_DIR": str(tmp_path / "state"),
        "CARBUY_SANDBOX__CALLBACK_DELAY_S": "0.2",
    }
    return env, ports


def _carbuy(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "carbuy"), *args]


def test_carbuy_dev_demo_exit_when_done_completes_a_purchase_and_exits_zero(tmp_path: Path) -> None:
    env, ports = _dev_env(tmp_path)
    run = subprocess.run(
        _carbuy("dev", "--demo", "--exit-when-done"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "purchase completed in" in run.stdout
    assert "stopped every process of the dev stack" in run.stdout
    assert not any(port_in_use(port) for port in ports.values())


def _api_healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _interrupt_dev_when(
    tmp_path: Path, ready: Callable[[dict[str, int]], bool], timeout_s: float, min_children: int = 0
) -> None:
    """Start `carbuy dev`, send Ctrl-C once ready(ports), and check that it stopped everything it started."""
    env, ports = _dev_env(tmp_path)
    dev = subprocess.Popen(
        _carbuy("dev"), env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + timeout_s
        while not ready(ports):
            assert time.monotonic() < deadline, "carbuy dev never got ready"
            time.sleep(0.05)
        children = psutil.Process(dev.pid).children(recursive=True)
        assert len(children) >= min_children
        dev.send_signal(signal.SIGINT)
        output, _ = dev.communicate(timeout=90)
    finally:
        if dev.poll() is None:
            dev.kill()
    assert dev.returncode == 0, output[-3000:]
    assert "stopped every process of the dev stack" in output
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []
    assert not any(port_in_use(port) for port in ports.values())


def test_carbuy_dev_stops_every_process_it_started_on_ctrl_c(tmp_path: Path) -> None:
    _interrupt_dev_when(tmp_path, lambda ports: _api_healthy(ports["API"]), timeout_s=90, min_children=5)


def test_carbuy_dev_interrupted_while_starting_still_stops_every_process(tmp_path: Path) -> None:
    _interrupt_dev_when(tmp_path, lambda ports: port_in_use(ports["TEMPORAL"]), timeout_s=30)
