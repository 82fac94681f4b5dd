"""The starter API as its callers see it: one method per route, over one pooled httpx client.

The platform's backend places orders and acts for the customer (its token); ops read and fix purchases (the ops
token). Every method returns the HTTP answer as it came, so each caller keeps its own way with errors (the CLI
prints them, chaos counts an unavailable API and tries later, the demo and the bench stop); `purchase_status`
and `purchase_id` read an answer.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import httpx

from carbuy.contract.purchase import PurchaseStatus
from carbuy.runtime.settings import Settings

CustomerAction = Literal["deposit", "lock", "loan-documents", "switch-to-full-payment", "balance", "handover", "cancel"]
"""The customer's actions: POST /purchases/{order_id}/{action}."""

OpsAction = Literal["retry", "correct-registration", "delivery-centre", "extend-deadline", "cancel", "resolve-undo"]
"""Ops' actions: POST /ops/purchases/{order_id}/{action}."""

Role = Literal["backend", "ops"]


class StarterClient:
    """One caller of the starter API, with one role's bearer token."""

    def __init__(
        self, base_url: str, token: str, *, timeout_s: float = 60.0, limits: httpx.Limits | None = None
    ) -> None:
        self.http = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout_s,
            headers={"Authorization": f"Bearer {token}"},
            limits=limits or httpx.Limits(),
        )

    @classmethod
    def from_settings(cls, settings: Settings, role: Role, **options: Any) -> Self:
        """The client of the API the settings place, with that role's token."""
        token = settings.api.backend_token if role == "backend" else settings.api.ops_token
        return cls(f"http://{settings.api.host}:{settings.api.port}", token, **options)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self.http.aclose()

    async def request(
        self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Any route (the methods below name the ones carbuy calls)."""
        return await self.http.request(method, path, json=json, params=params)

    # the platform's backend

    async def place_order(self, order: dict[str, Any]) -> httpx.Response:
        """POST /orders: the purchase the order starts (placing the same order again gives the same purchase)."""
        return await self.request("POST", "/orders", json=order)

    async def status(self, order_id: str) -> httpx.Response:
        """GET /purchases/{order_id}: the purchase's status."""
        return await self.request("GET", f"/purchases/{order_id}")

    async def act(self, order_id: str, action: CustomerAction, body: dict[str, Any]) -> httpx.Response:
        """A customer's action on the purchase."""
        return await self.request("POST", f"/purchases/{order_id}/{action}", json=body)

    # ops

    async def stuck(self, params: dict[str, Any]) -> httpx.Response:
        """GET /ops/stuck: the purchases that need a person, by the filters given."""
        return await self.request("GET", "/ops/stuck", params=params)

    async def show(self, order_id: str) -> httpx.Response:
        """GET /ops/purchases/{order_id}: a purchase as ops see it."""
        return await self.request("GET", f"/ops/purchases/{order_id}")

    async def ops(self, order_id: str, action: OpsAction, body: dict[str, Any]) -> httpx.Response:
        """An ops action on the purchase (operator and reason in the body)."""
        return await self.request("POST", f"/ops/purchases/{order_id}/{action}", json=body)


def purchase_status(response: httpx.Response) -> PurchaseStatus:
    """The status a GET /purchases/{order_id} answered (raises on an error answer)."""
    response.raise_for_status()
    return PurchaseStatus.model_validate(response.json())


def purchase_id(response: httpx.Response) -> str:
    """The purchase id a POST /orders answered (raises on an error answer)."""
    response.raise_for_status()
    return str(response.json()["purchase_id"])
