"""`eventually` retries a check until it passes and, when it never does, fails with the check's last word."""

from __future__ import annotations

import pytest

from tests.eventually import eventually


async def test_a_sync_check_is_retried_until_it_passes_and_its_value_returned() -> None:
    tries: list[int] = []

    def third_time() -> str:
        tries.append(1)
        assert len(tries) >= 3, f"try {len(tries)}"
        return "done"

    assert await eventually(third_time, interval=0) == "done"
    assert len(tries) == 3


async def test_an_async_check_is_awaited() -> None:
    tries: list[int] = []

    async def second_time() -> int:
        tries.append(1)
        assert len(tries) >= 2
        return len(tries)

    assert await eventually(second_time, interval=0) == 2


async def test_a_check_that_never_passes_fails_with_its_last_assertion() -> None:
    tries: list[int] = []

    def never() -> None:
        tries.append(1)
        raise AssertionError(f"still nothing after {len(tries)}")

    with pytest.raises(AssertionError, match=r"never still failing after 0\.05 s \((\d+) tries\): still nothing") as e:
        await eventually(never, timeout=0.05, interval=0.01)
    assert f"still nothing after {len(tries)}" in str(e.value) and isinstance(e.value.__cause__, AssertionError)


async def test_an_error_other_than_an_assertion_ends_the_wait_at_once() -> None:
    tries: list[int] = []

    def broken() -> None:
        tries.append(1)
        raise KeyError("no such field")

    with pytest.raises(KeyError):
        await eventually(broken)
    assert len(tries) == 1
