"""Reconciliation reports, one per market day, rendered (HTML and CSV) and kept; a re-run replaces its day's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Text, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from carbuy.store.types import UtcDateTime


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ReportRecordBase(SQLModel):
    """Fields shared by every model of the family: what a list of reports shows."""

    day: date = Field(description="the Asia/Shanghai day reconciled")
    generated_at: datetime = Field(sa_type=UtcDateTime)
    movements: int = Field(ge=0, description="ledger rows, processor objects and lender lines compared")
    discrepancies: int = Field(ge=0)
    by_type: dict[str, int] = Field(default_factory=dict, sa_type=JSON, description="discrepancies per type")


class ReportRecordCreate(ReportRecordBase):
    """A rendered report to keep."""

    report: str = Field(description="the report model as JSON")
    html: str
    csv: str


class ReportRecord(ReportRecordBase, table=True):
    """One row per day."""

    __tablename__ = "reconciliation_reports"
    __table_args__ = (UniqueConstraint("day", name="uq_reconciliation_reports_day"),)

    id: int | None = Field(default=None, primary_key=True)
    report: str = Field(sa_type=Text)
    html: str = Field(sa_type=Text)
    csv: str = Field(sa_type=Text)
    stored_at: datetime = Field(default_factory=_utcnow, sa_type=UtcDateTime)


class ReportSummary(ReportRecordBase):
    """A stored report as a list shows it."""


def get_report(*, session: Session, day: date) -> ReportRecord | None:
    """The report of a day, if one was stored."""
    return session.exec(select(ReportRecord).where(ReportRecord.day == day)).first()


def store_report(*, session: Session, report: ReportRecordCreate) -> ReportRecord:
    """Keep the report of its day, replacing the one stored before (also one stored concurrently)."""
    for _ in range(2):
        row = get_report(session=session, day=report.day)
        values: dict[str, Any] = report.model_dump()
        if row is None:
            row = ReportRecord.model_validate(values)
        else:
            row.sqlmodel_update({**values, "stored_at": _utcnow()})
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another run inserted the day first: replace theirs
            continue
        session.refresh(row)
        return row
    raise RuntimeError(f"could not store the report of {report.day}")


def list_reports(*, session: Session, limit: int = 366) -> list[ReportSummary]:
    """The stored reports, newest day first, without their bodies."""
    query = (
        select(
            ReportRecord.day,
            ReportRecord.generated_at,
            ReportRecord.movements,  # type: ignore[call-overload]
            ReportRecord.discrepancies,
            ReportRecord.by_type,
        )
        .order_by(col(ReportRecord.day).desc())
        .limit(limit)
    )
    return [
        ReportSummary(day=day, generated_at=at, movements=movements, discrepancies=discrepancies, by_type=by_type)
        for day, at, movements, discrepancies, by_type in session.exec(query)
    ]
