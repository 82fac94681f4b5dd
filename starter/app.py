"""The starter API: the only door into carbuy (composition root of the API process)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from carbuy.runtime.settings import Settings
from carbuy.runtime.temporal import connect
from carbuy.store.engines import acquire_engine, release_engine
from observability.asgi import RequestMetrics, orders_observer
from starter.errors import PurchaseProblem
from starter.routes import finance, ops, orders, purchases, stripe_webhooks, webhooks


def create_app(settings: Settings) -> FastAPI:
    """Build the API for these settings; it connects to Temporal when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.temporal = await connect(settings)
        app.state.db_engine = await asyncio.to_thread(acquire_engine, settings.db)  # upgrades the schema
        yield
        release_engine(app.state.db_engine)

    app = FastAPI(
        title="carbuy",
        version="0.1.0",
        lifespan=lifespan,
        description="Places car purchase orders and relays customer actions and partner callbacks.",
    )
    app.state.settings = settings
    app.add_middleware(RequestMetrics, app_name="api", observe=orders_observer)
    app.include_router(orders.router)
    app.include_router(purchases.router)
    app.include_router(webhooks.router)
    app.include_router(stripe_webhooks.router)
    app.include_router(ops.router)
    app.include_router(finance.router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.exception_handler(PurchaseProblem)
    async def purchase_problem(request: Request, exc: PurchaseProblem) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "stage": exc.stage}, status_code=exc.status_code)

    return app
