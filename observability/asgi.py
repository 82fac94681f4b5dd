"""An ASGI middleware that counts and times every request by its route template (the API and the sandbox)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from observability import metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Observer = Callable[[str, str, int], None]
"""Called with (method, route template, status) after each request, for app-specific counters."""

UNMATCHED = "unmatched"


class RequestMetrics:
    """Records carbuy_http_requests_total and carbuy_http_request_duration_seconds for one app."""

    def __init__(self, app: ASGIApp, *, app_name: str, observe: Observer | None = None) -> None:
        self.app = app
        self.app_name = app_name
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, noting its status; record it once answered (or failed)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = route_template(scope)
            method = str(scope.get("method", "GET"))
            metrics.http_request(self.app_name, method, route, status, time.perf_counter() - started)
            if self.observe is not None:
                self.observe(method, route, status)


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/purchases/{order_id}`), never the raw path: ids stay out of labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def sandbox_observer(institutions: frozenset[str]) -> Observer:
    """Counts sandbox requests by institution (the route's first path segment) and outcome."""

    def observe(method: str, route: str, status: int) -> None:
        first = route.strip("/").split("/", 1)[0]
        if first in institutions:
            metrics.sandbox_request(first, status)

    return observe


ORDER_REFUSALS = {401: "unauthorized", 409: "order_id_reused", 422: "invalid_order", 503: "temporal_unavailable"}


def orders_observer(method: str, route: str, status: int) -> None:
    """Counts refused orders (POST /orders) by reason; a placed order is counted by the route with its plan."""
    if method == "POST" and route == "/orders" and status in ORDER_REFUSALS:
        metrics.order_refused(ORDER_REFUSALS[status])
