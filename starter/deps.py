"""Dependencies of the routes: settings, the Temporal client, and who is calling."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from temporalio.client import Client

from carbuy.runtime.settings import Settings

_bearer = HTTPBearer(auto_error=False)


def get_settings(request: Request) -> Settings:
    """The settings the app was built with."""
    settings: Settings = request.app.state.settings
    return settings


def get_client(request: Request) -> Client:
    """The app's Temporal client."""
    client: Client = request.app.state.temporal
    return client


def get_engine(request: Request) -> Engine:
    """carbuy's database (schema upgraded when the app started)."""
    engine: Engine = request.app.state.db_engine
    return engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClientDep = Annotated[Client, Depends(get_client)]
EngineDep = Annotated[Engine, Depends(get_engine)]


def require_backend(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Only the platform's backend (bearer token) places orders and relays customer actions."""
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), settings.api.backend_token.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


BackendAuth = Depends(require_backend)


def require_ops(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Only ops staff (their bearer token) list stuck purchases and act on them."""
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), settings.api.ops_token.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


OpsAuth = Depends(require_ops)


def require_finance(
    settings: SettingsDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Only finance staff (their bearer token) run reconciliations and read their reports."""
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), settings.api.finance_token.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"}
        )


FinanceAuth = Depends(require_finance)
