"""Plausible vehicle identification numbers (ISO 3779, with the North-American check digit)."""

from __future__ import annotations

import secrets

_ALLOWED = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
GAC_WMI = "LMG"
MODEL_YEAR_2026 = "T"


def check_digit(vin: str) -> str:
    """The check character (position 9) of a 17-character VIN."""
    total = sum(_VALUES[c] * w for c, w in zip(vin, _WEIGHTS, strict=True))
    return "X" if total % 11 == 10 else str(total % 11)


def new_vin(wmi: str = GAC_WMI) -> str:
    """A fresh VIN with a valid check digit."""
    vds = "".join(secrets.choice(_ALLOWED) for _ in range(5))
    serial = "".join(secrets.choice("0123456789") for _ in range(6))
    draft = f"{wmi}{vds}0{MODEL_YEAR_2026}G{serial}"
    return draft[:8] + check_digit(draft) + draft[9:]
