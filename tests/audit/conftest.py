"""The money audit's servers and databases: a localstripe of its own, emptied per test (the audit reads everything),
and a fresh SQLite file or PostgreSQL schema; purchases made through carbuy's own payment and ledger activities."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy import Engine

from activities.ledger import LedgerActivities
from activities.payments import PaymentActivities
from activities.stripe_gateway import StripeGateway
from carbuy.runtime.settings import DatabaseSettings, FinanceSettings, Settings, StripeSettings
from carbuy.store.db import make_engine, migrate
from carbuy.store.ledger import LedgerStore
from carbuy.store.outcomes import OutcomeStore
from carbuy.store.payment_keys import PaymentKeyStore
from tests.audit.shop import Shop
from tests.finance.conftest import db_url_any, own_localstripe
from tests.finance.money import Money
from tests.fixtures.localstripe import LOCALSTRIPE_API_KEY

__all__ = ["db_url_any", "own_localstripe"]


@pytest.fixture
def settings(own_localstripe: str, db_url_any: str) -> Settings:
    """Settings pointing at the emptied localstripe and a fresh database (small pages: pagination is exercised)."""
    httpx.delete(f"{own_localstripe}/_config/data").raise_for_status()
    return Settings(
        environment="test",
        stripe=StripeSettings(api_key=LOCALSTRIPE_API_KEY, api_base=own_localstripe, timeout_s=10.0),
        db=DatabaseSettings(url=db_url_any),
        finance=FinanceSettings(stripe_page_size=3),
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The migrated database of the test."""
    engine = make_engine(settings.db)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
async def shop(settings: Settings, engine: Engine) -> AsyncIterator[Shop]:
    """Charges, refunds, fees and outcomes through carbuy's activities; raw money for the planted faults."""
    payments = PaymentActivities(
        gateway=StripeGateway(settings.stripe), keys=PaymentKeyStore(engine), ledger=LedgerStore(engine)
    )
    money = Money(settings, engine)
    yield Shop(settings, payments, LedgerActivities(LedgerStore(engine), OutcomeStore(engine)), money)
    await payments.aclose()
    money.close()
