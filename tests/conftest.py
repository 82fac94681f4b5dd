"""Shared fixtures: the real servers (Temporal, localstripe, partner sandbox) as test fixtures.

The reaper (tests/fixtures/reaper.py) comes first: whatever the run starts dies with it, even when it is killed.
"""

from __future__ import annotations

import os
import sys

import pytest

pytest_plugins = [
    "tests.fixtures.reaper",
    "tests.fixtures.temporal",
    "tests.fixtures.localstripe",
    "tests.fixtures.sandbox",
]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End with os._exit: the SDK's native threads can abort the interpreter at exit (sdk-python#300)."""
    status = getattr(config, "_carbuy_exitstatus", None)
    if status is None:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(status))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remember the exit status for pytest_unconfigure."""
    session.config._carbuy_exitstatus = exitstatus  # type: ignore[attr-defined]
