"""Start, watch and stop the child processes of the dev stack and the test fixtures."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bin_path(name: str) -> str:
    """A console script installed beside this interpreter (the venv's temporal, localstripe, ...)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    raise FileNotFoundError(f"{name} is not installed beside {sys.executable}; run `make install`")


@dataclass
class ManagedProcess:
    """A child process with its log file; stopped with SIGTERM, then SIGKILL."""

    name: str
    argv: Sequence[str]
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> ManagedProcess:
        """Start the process in its own process group, its output going to the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        env = {**os.environ, **(self.env or {})}
        self.popen = subprocess.Popen(
            list(self.argv), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.cwd, start_new_session=True
        )
        log.close()
        return self

    @property
    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.popen is not None and self.popen.poll() is None

    def wait_until_ready(self, *, port: int | None = None, url: str | None = None, timeout_s: float = 60.0) -> None:
        """Block until the port accepts connections or the URL answers, or fail with the log's tail."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            if url is not None and _answers(url):
                return
            if port is not None and url is None and port_in_use(port):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready after {timeout_s}s:\n{self.log_tail()}")

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL what is left."""
        if self.popen is None or self.popen.poll() is not None:
            return
        for sig, wait in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.popen.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    @property
    def pid(self) -> int | None:
        """The process id of the latest start (None before the first)."""
        return None if self.popen is None else self.popen.pid

    def kill(self, timeout_s: float = 10.0) -> None:
        """SIGKILL the process group at once (no clean shutdown: a crash) and reap it."""
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            return
        self.popen.wait(timeout=timeout_s)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def port_in_use(port: int) -> bool:
    """Whether something listens on this loopback port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code < 500
    except httpx.HTTPError:
        return False
