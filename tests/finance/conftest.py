"""Reconciliation tests' own servers (a localstripe and a sandbox nobody else writes to), databases and money.

A reconciliation reads everything of a day, so these tests cannot share the session's localstripe and
sandbox with other tests: they get their own processes, emptied before each test.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from carbuy.devtools.processes import ManagedProcess, bin_path, free_port
from carbuy.domain.money import MARKET_TIMEZONE, market_date
from carbuy.runtime.settings import DatabaseSettings, PartnerSettings, Settings, StripeSettings, TemporalSettings
from carbuy.store.db import make_engine, migrate
from tests.finance.money import Money
from tests.fixtures.localstripe import LOCALSTRIPE_API_KEY
from tests.store.conftest import postgres_schema

ROOT = Path(__file__).resolve().parents[2]
UI_URL = "http://temporal-ui.test:8233"


@pytest.fixture(scope="package")
def own_localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A localstripe for the reconciliation tests alone."""
    port = free_port()
    process = ManagedProcess(
        name="localstripe",
        argv=[bin_path("localstripe"), "--port", str(port), "--from-scratch"],
        log_path=tmp_path_factory.mktemp("finance-localstripe") / "localstripe.log",
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until_ready(url=f"{url}/v1/customers", timeout_s=30)
        yield url
    finally:
        process.stop()


@pytest.fixture(scope="package")
def own_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A partner sandbox for the reconciliation tests alone (quick loan decisions)."""
    port = free_port()
    process = ManagedProcess(
        name="sandbox",
        argv=[sys.executable, "-m", "sandbox"],
        log_path=tmp_path_factory.mktemp("finance-sandbox") / "sandbox.log",
        env={
            "CARBUY_ENVIRONMENT": "test",
            "CARBUY_SANDBOX__HOST": "127.0.0.1",
            "CARBUY_SANDBOX__PORT": str(port),
            "CARBUY_SANDBOX__CALLBACK_DELAY_S": "0.01",
            "CARBUY_SANDBOX__LATENCY_MS": "0",
        },
        cwd=ROOT,
    ).start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_until_ready(url=f"{url}/healthz", timeout_s=30)
        yield url
    finally:
        process.stop()


@pytest.fixture
def day() -> date:
    """Today in China, at least 30 s before its midnight (so what a test makes all falls on one day)."""
    now = datetime.now(MARKET_TIMEZONE)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), MARKET_TIMEZONE)
    if midnight - now < timedelta(seconds=30):
        time.sleep((midnight - now).total_seconds() + 1)
    return market_date(datetime.now(UTC))


@pytest.fixture
def settings(own_localstripe: str, own_sandbox: str, db_url_any: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings pointing at the emptied servers and a fresh database."""
    httpx.delete(f"{own_localstripe}/_config/data").raise_for_status()
    httpx.post(f"{own_sandbox}/_sandbox/reset").raise_for_status()
    yield Settings(
        environment="test",
        stripe=StripeSettings(api_key=LOCALSTRIPE_API_KEY, api_base=own_localstripe, timeout_s=10.0),
        partners=PartnerSettings(base_url=own_sandbox, callback_url="http://127.0.0.1:9/webhooks", timeout_s=5.0),
        db=DatabaseSettings(url=db_url_any),
        temporal=TemporalSettings(ui_url=UI_URL, namespace="default"),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url_any(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of each kind carbuy supports (PostgreSQL: a schema of this test's own)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'carbuy.db'}"
        return
    with postgres_schema() as url:
        yield url


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The migrated database of the test."""
    engine = make_engine(settings.db)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def money(settings: Settings, engine: Engine) -> Iterator[Money]:
    """Moves real money in the test's localstripe and sandbox, and writes the ledger rows carbuy would."""
    world = Money(settings, engine)
    yield world
    world.close()
