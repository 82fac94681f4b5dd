"""The starter API: the only door into carbuy (composition root of the API process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from carbuy.settings import Settings
from carbuy.temporal import connect
from starter.errors import PurchaseProblem
from starter.routes import orders, purchases, webhooks


def create_app(settings: Settings) -> FastAPI:
    """Build the API for these settings; it connects to Temporal when it starts."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.temporal = await connect(settings.temporal)
        yield

    app = FastAPI(title="carbuy", version="0.1.0", lifespan=lifespan,
                  description="Places car purchase orders and relays customer actions and partner callbacks.")
    app.state.settings = settings
    app.include_router(orders.router)
    app.include_router(purchases.router)
    app.include_router(webhooks.router)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok"}

    @app.exception_handler(PurchaseProblem)
    async def purchase_problem(request: Request, exc: PurchaseProblem) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, "stage": exc.stage}, status_code=exc.status_code)

    return app
