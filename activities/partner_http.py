"""The HTTP client under every partner activity: one pooled client per institution, errors typed for Temporal.

A business refusal (422) and a reused key (409) become non-retryable ApplicationErrors; 5xx, timeouts and
connection errors are raised as they are, so the activity's retry policy retries them (never a loop here).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self, TypeVar

import httpx
from pydantic import BaseModel
from temporalio.exceptions import ApplicationError

from carbuy.contract.activities import Keyed
from carbuy.contract.purchase import ErrorType
from carbuy.runtime.settings import Settings
from observability.calls import metered

IDEMPOTENCY_HEADER = "Idempotency-Key"

R = TypeVar("R", bound=BaseModel)


class PartnerClient:
    """One institution's HTTP API at a base URL, with the callback URL it answers to by default."""

    institution: ClassVar[str]

    def __init__(self, *, base_url: str, timeout_s: float, default_callback_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.default_callback_url = default_callback_url
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """The client of this institution as the settings place it."""
        return cls(
            base_url=settings.partners.url_of(cls.institution),
            timeout_s=settings.partners.timeout_s,
            default_callback_url=settings.partners.callback_url,
        )

    def callback_url(self, given: str) -> str:
        """Where the partner should answer: the input's URL, else the configured webhook."""
        return given or self.default_callback_url

    async def post(self, path: str, *, key: str, body: BaseModel | dict[str, Any]) -> dict[str, Any]:
        """POST a JSON body under an idempotency key and return the JSON answer."""
        content = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
        request = self.http.post(path, json=content, headers={IDEMPOTENCY_HEADER: key})
        return self._answer(await metered(self.institution, request))

    async def post_for(self, path: str, input: Keyed, result: type[R], body: dict[str, Any] | None = None) -> R:
        """POST under the input's idempotency key and read the answer as `result`.

        The body is the whole input but its key, answering to `callback_url(...)`, unless one is given.
        """
        if body is None:
            body = input.model_dump(mode="json", exclude={"key"})
            if "callback_url" in body:
                body["callback_url"] = self.callback_url(body["callback_url"])
        return result.model_validate(await self.post(path, key=input.key, body=body))

    async def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """GET a JSON resource."""
        return self._answer(await metered(self.institution, self.http.get(path, params=params)))

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code in (409, 422):
            detail = _error_detail(response)
            error_type = ErrorType.PARTNER_REFUSED if response.status_code == 422 else ErrorType.PARTNER_CONFLICT
            raise ApplicationError(
                f"{self.institution}: {detail['reason']}", detail, type=error_type, non_retryable=True
            )
        if 400 <= response.status_code < 500 and response.status_code not in RETRYABLE_4XX:
            detail = _error_detail(response)
            raise ApplicationError(
                f"{self.institution} rejected the request ({response.status_code}): {detail['reason']}",
                detail,
                type=ErrorType.PARTNER_REJECTED_REQUEST,
                non_retryable=True,
            )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.http.aclose()


RETRYABLE_4XX = frozenset({408, 425, 429})
"""Timeouts and rate limits: worth retrying, unlike a request the partner will never accept."""


def _error_detail(response: httpx.Response) -> dict[str, str]:
    """The partner's `{"error": {"type", "reason"}}`, or the status and text when it sent something else."""
    try:
        error = response.json()["error"]
        return {"type": str(error["type"]), "reason": str(error["reason"])}
    except (ValueError, KeyError, TypeError):
        return {"type": f"http_{response.status_code}", "reason": response.text[:500] or response.reason_phrase}
