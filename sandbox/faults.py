"""Fault injection per institution: the one place where the sandbox misbehaves on purpose.

Only deterministic failures exist now (fail the next N requests with a status code). Fault rates
(5xx, timeouts, duplicate or out-of-order callbacks) belong here too: `before_request` for request
faults, `copies_of` for callback duplication.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class InstitutionFaults(BaseModel):
    """The faults of one institution."""

    fail_next: int = Field(default=0, ge=0, description="answer the next N requests with status_code")
    status_code: int = Field(default=503, ge=500, le=599)


class Faults:
    """The faults in force, by institution (path prefix without slash)."""

    def __init__(self) -> None:
        self.by_institution: dict[str, InstitutionFaults] = {}

    def set(self, institution: str, faults: InstitutionFaults) -> None:
        """Replace the faults of one institution."""
        self.by_institution[institution] = faults.model_copy()

    def before_request(self, institution: str) -> int | None:
        """The status code to fail this request with, or None to handle it."""
        faults = self.by_institution.get(institution)
        if faults is None or faults.fail_next <= 0:
            return None
        faults.fail_next -= 1
        return faults.status_code

    def copies_of(self, institution: str) -> int:
        """How many times to deliver one callback (duplicates are a fault still to build)."""
        return 1
