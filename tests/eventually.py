"""`eventually`: retry a check until it passes, instead of a polling loop written out in each test."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

TIMEOUT_S = 20.0
"""Generous: the suite must pass on a busy machine, and a check that passes returns at once anyway."""


@overload
async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = ..., interval: float = ...) -> T: ...  # noqa: ASYNC109
@overload
async def eventually(check: Callable[[], T], *, timeout: float = ..., interval: float = ...) -> T: ...  # noqa: ASYNC109


async def eventually(
    check: Callable[[], Any],
    *,
    timeout: float = TIMEOUT_S,  # noqa: ASYNC109 -- a deadline for the whole retrying, not one call
    interval: float = 0.05,
) -> Any:
    """Call `check` (sync or async) until it returns without an AssertionError; return what it returned.

    Once `timeout` seconds have passed, the last AssertionError is raised again, saying how long it was tried.
    Any other exception ends the wait at once: only an assertion is a "not yet".
    """
    deadline = time.monotonic() + timeout
    tries = 0
    while True:
        tries += 1
        try:
            value = check()
            if inspect.isawaitable(value):
                value = await value
            return value
        except AssertionError as failed:
            if time.monotonic() >= deadline:
                name = getattr(check, "__qualname__", repr(check))
                raise AssertionError(f"{name} still failing after {timeout:g} s ({tries} tries): {failed}") from failed
        await asyncio.sleep(interval)
