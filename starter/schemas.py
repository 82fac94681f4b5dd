"""Request and response bodies of the starter API (apart from the workflow's own models)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from carbuy.contract.purchase import PurchaseStage


class OrderAccepted(BaseModel):
    """The purchase an order started (or had already started)."""

    purchase_id: str = Field(description="the workflow id, purchase-<order_id>")
    order_id: str
    created: bool = Field(description="false when the same order had been placed before")
    status_url: str


class Problem(BaseModel):
    """An error: what went wrong, and the purchase's stage where it matters."""

    detail: str
    stage: PurchaseStage | None = None


class CallbackReceived(BaseModel):
    """A partner callback that was delivered to its purchase."""

    delivered: bool
    purchase_id: str


Responses = dict[int | str, dict[str, Any]]

CONFLICT: Responses = {409: {"model": Problem, "description": "refused in the purchase's current stage"}}
NOT_FOUND: Responses = {404: {"model": Problem, "description": "no purchase for this order id"}}
UNAUTHORIZED: Responses = {401: {"model": Problem, "description": "missing or wrong bearer token"}}
