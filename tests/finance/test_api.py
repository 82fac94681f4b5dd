"""The finance routes of the starter API: the finance token only, 404 for a day never reconciled, the stored
reports as HTML, CSV and a list, and a reconciliation started over HTTP that runs on a real worker."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.reconciliation import ReconciliationActivities
from carbuy.runtime.settings import Settings
from carbuy.store.ledger import LedgerKind as K
from starter.app import create_app
from tests.finance.money import DEPOSIT_FEN, Money
from workflows.reconciliation import ReconciliationWorkflow

FINANCE = {"Authorization": "Bearer dev-finance-token"}
ROUTES = [
    ("GET", "/finance/reports"),
    ("GET", "/finance/reports/2026-11-25"),
    ("GET", "/finance/reports/2026-11-25.csv"),
    ("POST", "/finance/reconciliations"),
]


@pytest.fixture
def queued(settings: Settings) -> Settings:
    """The settings with a task queue of this test's own."""
    return settings.model_copy(
        update={"temporal": settings.temporal.model_copy(update={"task_queue": f"finance-api-{uuid.uuid4().hex[:8]}"})}
    )


@pytest.fixture
async def api(queued: Settings, engine: Engine, local_env: WorkflowEnvironment) -> AsyncIterator[httpx.AsyncClient]:
    """The starter app over ASGI, wired to the dev server and the test's database as its lifespan would."""
    app = create_app(queued)
    app.state.temporal = local_env.client
    app.state.db_engine = engine
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        yield http


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_finance_routes_refuse_a_missing_or_another_roles_token(
    api: httpx.AsyncClient, method: str, path: str
) -> None:
    missing = await api.request(method, path, json={})
    backend = await api.request(method, path, json={}, headers={"Authorization": "Bearer dev-backend-token"})

    assert (missing.status_code, backend.status_code) == (401, 401)
    assert missing.headers["WWW-Authenticate"] == "Bearer"


async def test_a_day_never_reconciled_has_no_report(api: httpx.AsyncClient) -> None:
    html = await api.get("/finance/reports/2020-01-01", headers=FINANCE)
    sheet = await api.get("/finance/reports/2020-01-01.csv", headers=FINANCE)
    listed = await api.get("/finance/reports", headers=FINANCE)

    assert (html.status_code, sheet.status_code) == (404, 404)
    assert html.json()["detail"] == "no reconciliation report for 2020-01-01"
    assert (listed.status_code, listed.json()) == (200, [])


async def test_a_reconciliation_started_over_http_runs_and_its_report_is_served(
    api: httpx.AsyncClient, queued: Settings, engine: Engine, money: Money, day: date, local_env: WorkflowEnvironment
) -> None:
    order = money.new_order()
    money.record(order, K.DEPOSIT_CHARGED, DEPOSIT_FEN, money.charge(order, "deposit", DEPOSIT_FEN))
    unrecorded = money.charge(order, "balance", 300_000)
    activities = ReconciliationActivities(queued, engine)
    async with Worker(
        local_env.client,
        task_queue=queued.temporal.task_queue,
        workflows=[ReconciliationWorkflow],
        activities=activities.all(),
    ):
        started = await api.post("/finance/reconciliations", json={"day": day.isoformat()}, headers=FINANCE)
        assert started.status_code == 202, started.text
        await local_env.client.get_workflow_handle(started.json()["workflow_id"]).result()
        html = await api.get(f"/finance/reports/{day}", headers=FINANCE)
        sheet = await api.get(f"/finance/reports/{day}.csv", headers=FINANCE)
        listed = await api.get("/finance/reports", headers=FINANCE)

    assert started.json() == {
        "workflow_id": f"reconcile-{day}",
        "day": day.isoformat(),
        "report_url": f"/finance/reports/{day}",
        "csv_url": f"/finance/reports/{day}.csv",
    }
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "1 discrepancy to resolve" in html.text and f"/workflows/purchase-{order}" in html.text
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    assert [r["reference"] for r in csv.DictReader(io.StringIO(sheet.text))] == [unrecorded]
    assert [(r["day"], r["discrepancies"], r["by_type"]) for r in listed.json()] == [
        (day.isoformat(), 1, {"missing_in_ledger": 1})
    ]
    # the worker's gauge behind the reconciliation-discrepancy alert
    gauge = {
        t: REGISTRY.get_sample_value("carbuy_reconciliation_discrepancies", {"type": t})
        for t in ("missing_in_ledger", "duplicate_charge")
    }
    assert gauge == {"missing_in_ledger": 1.0, "duplicate_charge": 0.0}


async def test_starting_the_same_days_reconciliation_twice_while_it_runs_is_one_run(
    api: httpx.AsyncClient, local_env: WorkflowEnvironment
) -> None:
    handle = local_env.client.get_workflow_handle("reconcile-2026-03-14")
    # no worker polls the queue: the first run stays open while the second request comes
    first = await api.post("/finance/reconciliations", json={"day": "2026-03-14"}, headers=FINANCE)
    first_run = (await handle.describe()).run_id
    second = await api.post("/finance/reconciliations", json={"day": "2026-03-14"}, headers=FINANCE)
    described = await handle.describe()
    await handle.terminate("test over")

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["workflow_id"] == second.json()["workflow_id"] == "reconcile-2026-03-14"
    assert described.run_id == first_run
    assert described.status is not None and described.status.name == "RUNNING"
