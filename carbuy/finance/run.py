"""One reconciliation run as the activity and the CLI do it: read the three sides, render, store the day's report."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from carbuy.finance.book import LedgerBook
from carbuy.finance.engine import reconcile
from carbuy.finance.lender import LenderFile
from carbuy.finance.model import Progress, ReconciliationReport, no_progress
from carbuy.finance.processor import StripeProcessor
from carbuy.finance.render import ReportRenderer
from carbuy.runtime.settings import Settings
from carbuy.store.db import session_scope
from carbuy.store.reports import ReportRecord, ReportRecordCreate, store_report


def renderer_for(settings: Settings) -> ReportRenderer:
    """The renderer whose links point at the configured Temporal UI and namespace."""
    return ReportRenderer(ui_url=settings.temporal.ui_url, namespace=settings.temporal.namespace)


def keep(engine: Engine, report: ReconciliationReport, renderer: ReportRenderer) -> ReportRecord:
    """Render the report (HTML and CSV) and store it as its day's, replacing an earlier run's."""
    result = report.result()
    record = ReportRecordCreate(
        day=report.day,
        generated_at=report.generated_at,
        movements=result.movements,
        discrepancies=result.discrepancies,
        by_type={kind.value: n for kind, n in result.by_type.items()},
        report=report.model_dump_json(),
        html=renderer.html(report),
        csv=renderer.csv(report),
    )
    with session_scope(engine) as session:
        return store_report(session=session, report=record)


def reconcile_and_keep(
    settings: Settings, engine: Engine, day: date, *, progress: Progress = no_progress
) -> ReconciliationReport:
    """Reconcile a day against the configured Stripe and lender, and store its report."""
    processor = StripeProcessor(settings.stripe, page_size=settings.finance.stripe_page_size)
    lender = LenderFile.from_settings(settings.partners)
    workdir = Path(settings.finance.workdir) if settings.finance.workdir else None
    try:
        report = reconcile(
            day, book=LedgerBook(engine), processor=processor, lender=lender, progress=progress, workdir=workdir
        )
    finally:
        processor.close()
        lender.close()
    keep(engine, report, renderer_for(settings))
    return report
