"""A killed test run takes its servers with it: tests/fixtures/reaper.py, against a child pytest killed from outside."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.eventually import eventually
from tests.fixtures import reaper

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the reaper reads /proc"),
]
ROOT = Path(__file__).resolve().parents[2]

WIPE_ENVIRON = """
import ctypes, sys, time
fields = open("/proc/self/stat", "rb").read().rsplit(b")", 1)[1].split()
start, end = int(fields[47]), int(fields[48])  # env_start, env_end: what /proc/<pid>/environ shows
ctypes.memset(start, 0, end - start)  # as nginx and chromium do to write their process titles there
sys.stdout.write("wiped\\n")
sys.stdout.flush()
time.sleep(600)
"""

CHILD_TEST = """
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
from temporalio.testing import WorkflowEnvironment

from carbuy.devtools.processes import bin_path
from tests.fixtures import reaper

WIPE_ENVIRON = {wipe!r}


def test_start_servers_then_block():
    asyncio.run(start_servers_then_block())


async def start_servers_then_block():
    me = psutil.Process()
    (watchdog,) = me.children()  # started at configure time, before anything else
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=bin_path("temporal-test-server"))
    servers = [child.pid for child in me.children(recursive=True) if child.pid != watchdog.pid]
    assert servers
    session = subprocess.Popen(
        ["sh", "-c", "sleep 600 & echo $!; wait"], stdout=subprocess.PIPE, start_new_session=True
    )
    grandchild = int(session.stdout.readline())
    orphan = int(subprocess.run(
        ["sh", "-c", "sleep 600 >/dev/null 2>&1 & echo $!"], capture_output=True, check=True
    ).stdout)
    wiper = subprocess.Popen([sys.executable, "-c", WIPE_ENVIRON], stdout=subprocess.PIPE)
    assert wiper.stdout.readline() == b"wiped\\n"
    assert reaper.MARKER.encode() not in Path(f"/proc/{{wiper.pid}}/environ").read_bytes()
    reaper.record_now()  # only the process tree the watchdog has seen tells it the wiper is ours
    pids = {{
        "time-skipping server": servers,
        "new session": [session.pid],
        "its child": [grandchild],
        "orphan": [orphan],
        "environ wiped": [wiper.pid],
        "watchdog": [watchdog.pid],
    }}
    Path({pids_path!r}).with_suffix(".tmp").write_text(json.dumps(pids))
    Path({pids_path!r}).with_suffix(".tmp").rename({pids_path!r})
    await asyncio.sleep(600)
    await env.shutdown()
"""


def _running(process: psutil.Process) -> bool:
    """Alive: the same process (not a reused pid) and not a zombie waiting to be collected."""
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
async def test_a_killed_run_takes_every_process_it_started_with_it(tmp_path: Path, kill: signal.Signals) -> None:
    pids_path = tmp_path / "pids.json"
    (tmp_path / "test_child.py").write_text(CHILD_TEST.format(wipe=WIPE_ENVIRON, pids_path=str(pids_path)))
    # its own rootdir: neither this suite's conftest nor its settings; the plugin comes in with -p
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    log_path = tmp_path / "child.log"
    env = {name: value for name, value in os.environ.items() if name != reaper.MARKER}
    argv = [sys.executable, "-m", "pytest", "-p", "tests.fixtures.reaper", "-p", "no:cacheprovider", "-q"]
    with log_path.open("wb") as log:
        child = await asyncio.create_subprocess_exec(
            *argv, str(tmp_path / "test_child.py"), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    started: dict[str, list[psutil.Process]] = {}

    def log_tail() -> str:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])

    def pids_written() -> None:
        if child.returncode is not None:
            raise RuntimeError(f"the child pytest exited {child.returncode}:\n{log_tail()}")
        assert pids_path.exists(), "no pid file yet"

    def all_gone() -> None:
        alive = {name: [p.pid for p in processes if _running(p)] for name, processes in started.items()}
        assert not any(alive.values()), f"still alive: {alive}\n{log_tail()}"

    try:
        await eventually(pids_written, timeout=120, interval=0.1)
        started = {
            name: [psutil.Process(pid) for pid in pids] for name, pids in json.loads(pids_path.read_text()).items()
        }
        not_running = {name: [p.pid for p in ps if not _running(p)] for name, ps in started.items()}
        assert not any(not_running.values()), f"not running before the kill: {not_running}"
        child.send_signal(kill)
        assert await asyncio.wait_for(child.wait(), timeout=30) == -kill
        await eventually(all_gone, timeout=30, interval=0.1)
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
        for process in (p for processes in started.values() for p in processes):
            if _running(process):
                process.kill()
    assert "carbuy reaper: stopped" in log_tail()
