"""The partner faults of a chaos run: one profile scaled by the fault rate, set on every sandbox institution."""

from __future__ import annotations

from typing import Any

import httpx

from carbuy.contract.institutions import NAMES

BASE_RATES = {
    "error_rate": 0.05,
    "timeout_rate": 0.02,
    "slow_rate": 0.1,
    "duplicate_rate": 0.1,
    "reorder_rate": 0.1,
    "drop_rate": 0.02,
}
"""Shares of requests (error, timeout, slow) and of callbacks (duplicate, reorder, drop) at fault rate 1."""


def fault_profile(rate: float, seed: int, institution: str, *, partner_timeout_s: float) -> dict[str, Any]:
    """One institution's faults: every base rate times `rate` (at most 1), its own seed.

    A timeout holds the answer a second longer than the worker's partner client waits, so it is a real timeout
    (the request was handled; the retry under the same key gets the stored answer).
    """
    rates = {name: min(1.0, base * rate) for name, base in BASE_RATES.items()}
    return {
        **rates,
        "timeout_s": partner_timeout_s + 1.0,
        "slow_ms": 300,
        "reorder_delay_s": 1.0,
        "seed": _seed_of(seed, institution),
    }


def _seed_of(seed: int, institution: str) -> int:
    return seed * 100 + NAMES.index(institution)


async def set_faults(sandbox: httpx.AsyncClient, rate: float, seed: int, *, partner_timeout_s: float) -> None:
    """Put the profile on every institution (rate 0 leaves the sandbox well-behaved)."""
    if rate <= 0:
        return
    for institution in NAMES:
        profile = fault_profile(rate, seed, institution, partner_timeout_s=partner_timeout_s)
        response = await sandbox.put(f"/_sandbox/faults/{institution}", json=profile)
        response.raise_for_status()


async def injected_faults(sandbox: httpx.AsyncClient) -> dict[str, dict[str, int]]:
    """The faults the sandbox injected, by institution and kind."""
    response = await sandbox.get("/_sandbox/faults")
    response.raise_for_status()
    institutions: dict[str, Any] = response.json()["institutions"]
    return {name: {kind: int(n) for kind, n in view["injected"].items()} for name, view in institutions.items()}
