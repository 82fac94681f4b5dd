"""Finance: start a day's reconciliation and read the stored reports (HTML for people, CSV for spreadsheets)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter, HTTPException, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError

from carbuy.contract.finance import (
    RECONCILIATION_WORKFLOW,
    ReconcileInput,
    day_to_reconcile,
    reconciliation_workflow_id,
)
from carbuy.contract.public import public
from carbuy.store.db import session_scope
from carbuy.store.reports import ReportRecord, ReportSummary, get_report, list_reports
from starter.deps import ClientDep, EngineDep, FinanceAuth, SettingsDep
from starter.schemas import UNAUTHORIZED, Problem, Responses

router = APIRouter(prefix="/finance", tags=["finance"], dependencies=[FinanceAuth], responses=UNAUTHORIZED)
NO_REPORT: Responses = {404: {"model": Problem, "description": "no report is stored for this day"}}


class ReconciliationRequest(BaseModel):
    """The Asia/Shanghai day to reconcile (default: yesterday)."""

    day: date | None = Field(default=None, examples=["2026-11-25"])


class ReconciliationStarted(BaseModel):
    """A reconciliation under way (or already running for that day); its report replaces the day's when done."""

    workflow_id: str
    day: date
    report_url: str
    csv_url: str


@router.post(
    "/reconciliations",
    status_code=status.HTTP_202_ACCEPTED,
    responses={503: {"model": Problem, "description": "Temporal unavailable (nothing started)"}},
)
async def start_reconciliation(
    body: ReconciliationRequest, client: ClientDep, settings: SettingsDep
) -> ReconciliationStarted:
    """Start ReconciliationWorkflow for the day (`reconcile-<day>`); a run of that day still going is reused."""
    day = body.day or day_to_reconcile(datetime.now(UTC), "yesterday")
    workflow_id = reconciliation_workflow_id(day)
    try:
        await client.start_workflow(
            RECONCILIATION_WORKFLOW,
            ReconcileInput(day=day, timeout_s=settings.finance.activity_timeout_s),
            id=workflow_id,
            task_queue=settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=public(f"reconciliation of {day.isoformat()}"),
        )
    except RPCError as err:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal unavailable: {err.message}") from err
    return ReconciliationStarted(
        workflow_id=workflow_id,
        day=day,
        report_url=f"/finance/reports/{day.isoformat()}",
        csv_url=f"/finance/reports/{day.isoformat()}.csv",
    )


@router.get("/reports")
def reports(engine: EngineDep) -> list[ReportSummary]:
    """Every stored report, newest day first, with its discrepancy counts."""
    with session_scope(engine) as session:
        return list_reports(session=session)


def _stored(engine: EngineDep, day: date) -> ReportRecord:
    with session_scope(engine) as session:
        record = get_report(session=session, day=day)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no reconciliation report for {day.isoformat()}")
    return record


# Declared before /reports/{day}: that path would also match "<day>.csv".
@router.get(
    "/reports/{day}.csv",
    response_class=Response,
    responses={**NO_REPORT, 200: {"content": {"text/csv": {}}, "description": "one discrepancy per row"}},
)
def report_csv(day: date, engine: EngineDep) -> Response:
    """The day's discrepancies as CSV."""
    return Response(
        _stored(engine, day).csv,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="reconciliation-{day.isoformat()}.csv"'},
    )


@router.get("/reports/{day}", response_class=HTMLResponse, responses=NO_REPORT)
def report_html(day: date, engine: EngineDep) -> HTMLResponse:
    """The day's report for a person: totals, and every discrepancy linked to its purchase."""
    return HTMLResponse(_stored(engine, day).html)
