"""The sandbox application: one FastAPI app serving every institution under its own path prefix."""

from __future__ import annotations

import pkgutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from carbuy.contract.institutions import INSTITUTIONS, NAMES
from carbuy.runtime.settings import Settings
from observability.asgi import RequestMetrics, sandbox_observer
from sandbox.callbacks import CallbackDispatcher
from sandbox.errors import PartnerError
from sandbox.routes import control
from sandbox.routing import error_response
from sandbox.state import SandboxConfig, SandboxState

INSTITUTION_ROUTERS: tuple[APIRouter, ...] = tuple(pkgutil.resolve_name(i.router) for i in INSTITUTIONS)
"""Every registered institution's router, under its name as prefix (carbuy/contract/institutions.py)."""


class Health(BaseModel):
    """The sandbox is up."""

    status: str = "ok"


def create_app(settings: Settings) -> FastAPI:
    """Build the sandbox from settings: state, callback dispatcher and every router."""
    state = SandboxState(
        SandboxConfig(callback_delay_s=settings.sandbox.callback_delay_s, latency_ms=settings.sandbox.latency_ms)
    )
    dispatcher = CallbackDispatcher(
        state=state,
        secret=settings.partners.callback_secret,
        client=httpx.AsyncClient(timeout=settings.partners.timeout_s),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await dispatcher.cancel_all()
        await dispatcher.client.aclose()

    app = FastAPI(
        title="carbuy partner sandbox",
        version="1",
        description="Lender, battery operator, insurer, registry, OEM inventory, carrier, stores and notifier, "
        "each under its own prefix. Every POST is idempotent by its Idempotency-Key header; asynchronous "
        "answers are signed PartnerCallback POSTs to the request's callback_url.",
        lifespan=lifespan,
    )
    app.state.sandbox = state
    app.state.dispatcher = dispatcher
    app.add_middleware(RequestMetrics, app_name="sandbox", observe=sandbox_observer(frozenset(NAMES)))
    for router in INSTITUTION_ROUTERS:
        app.include_router(router)
    app.include_router(control.router)
    app.add_exception_handler(PartnerError, _partner_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)

    app.openapi = lambda: _openapi_without_validation_422(app)  # type: ignore[method-assign]

    @app.get("/healthz", tags=["health"], summary="Liveness")
    async def healthz() -> Health:
        """Answers while the sandbox runs."""
        return Health()

    return app


def _openapi_without_validation_422(app: FastAPI) -> dict[str, Any]:
    """FastAPI documents 422 for validation; the sandbox answers 400 there, so drop those entries."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for operations in schema["paths"].values():
            for operation in operations.values():
                answer = operation["responses"].get("422", {})
                if "HTTPValidationError" in str(answer):
                    del operation["responses"]["422"]
        app.openapi_schema = schema
    return app.openapi_schema


async def _partner_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PartnerError)
    return error_response(exc)


async def _invalid_request(_: Request, exc: Exception) -> JSONResponse:
    """400, not FastAPI's 422: 422 is kept for business refusals."""
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    return error_response(PartnerError("invalid_request", problems))
