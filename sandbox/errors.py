"""The sandbox's error bodies and the exceptions routes raise to produce them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    """Why a request was not done: a snake_case type and a human reason."""

    type: str = Field(examples=["underwriting_refused"])
    reason: str = Field(examples=["the insurer does not cover this vehicle"])


class ErrorBody(BaseModel):
    """Every error response: `{"error": {"type": ..., "reason": ...}}`."""

    error: ErrorDetail


class PartnerError(Exception):
    """An error a route answers with: an HTTP status and an error body."""

    status_code = 400

    def __init__(self, type: str, reason: str) -> None:
        super().__init__(reason)
        self.type = type
        self.reason = reason

    def body(self) -> ErrorBody:
        """The JSON body of this error."""
        return ErrorBody(error=ErrorDetail(type=self.type, reason=self.reason))


class Refused(PartnerError):
    """A business refusal (422): the request was understood and said no to."""

    status_code = 422


class NotFound(PartnerError):
    """An unknown id (404)."""

    status_code = 404

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind}_not_found", f"no {kind.replace('_', ' ')} {ident}")


class Conflict(PartnerError):
    """An idempotency key reused with another request (409)."""

    status_code = 409


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


Responses = dict[int | str, dict[str, Any]]

BAD_REQUEST: Responses = {400: _doc("Malformed body or missing Idempotency-Key header")}
NOT_FOUND: Responses = {404: _doc("Unknown id")}
REFUSED: Responses = {422: _doc("Business refusal, with a reason type")}
KEY_REUSED: Responses = {409: _doc("Idempotency-Key already used with another request")}
UNAVAILABLE: Responses = {503: _doc("Injected fault: the partner is unavailable")}
POST_ERRORS: Responses = {**BAD_REQUEST, **KEY_REUSED, **UNAVAILABLE}
