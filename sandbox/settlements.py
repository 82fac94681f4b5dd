"""The lender's daily settlement file: every disbursement and principal return of one Asia/Shanghai day, as CSV.

The lender keeps a record of each movement of money when it happens (a disbursement to the platform, the
principal coming back when a disbursed application is cancelled). Tests can plant a line of their own through
the control API, the way a lender's back office sometimes books a wrong amount.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from carbuy.domain.money import market_date
from sandbox.state import PartnerObject, SandboxState

COLUMNS = ("day", "type", "reference", "application_id", "order_ref", "amount_fen", "occurred_at")
LineType = Literal["disbursement", "return"]


class DisbursementRecord(PartnerObject):
    """Principal paid to the platform, as the lender books it."""

    kind: ClassVar[str] = "disbursement"

    application_id: str
    amount_fen: int


class PrincipalReturn(PartnerObject):
    """Principal paid back to the lender when a disbursed application was cancelled."""

    kind: ClassVar[str] = "principal_return"

    application_id: str
    amount_fen: int


class PlantedLine(PartnerObject):
    """A line the control API added to a day's file (for tests of reconciliation)."""

    kind: ClassVar[str] = "planted_settlement_line"

    type: LineType
    reference: str
    application_id: str
    amount_fen: int
    day: date


class SettlementLine(BaseModel):
    """One line of a settlement file."""

    day: date
    type: LineType
    reference: str = Field(description="the disbursement id, or the return id")
    application_id: str
    order_ref: str
    amount_fen: int
    occurred_at: datetime


def lines_of(state: SandboxState, day: date) -> list[SettlementLine]:
    """The lines of one day, oldest first."""
    lines: list[SettlementLine] = []
    for obj in state.objects.values():
        if isinstance(obj, DisbursementRecord | PrincipalReturn):
            if market_date(obj.created_at) == day:
                kind: LineType = "disbursement" if isinstance(obj, DisbursementRecord) else "return"
                lines.append(_line(obj, kind, obj.application_id, obj.amount_fen, day))
        elif isinstance(obj, PlantedLine) and obj.day == day:
            lines.append(planted_line(obj))
    return sorted(lines, key=lambda line: line.occurred_at)


def planted_line(obj: PlantedLine) -> SettlementLine:
    """The file line of a planted one."""
    return SettlementLine(
        day=obj.day,
        type=obj.type,
        reference=obj.reference,
        application_id=obj.application_id,
        order_ref=obj.order_ref,
        amount_fen=obj.amount_fen,
        occurred_at=obj.created_at,
    )


def _line(obj: PartnerObject, kind: LineType, application_id: str, amount_fen: int, day: date) -> SettlementLine:
    return SettlementLine(
        day=day,
        type=kind,
        reference=obj.id,
        application_id=application_id,
        order_ref=obj.order_ref,
        amount_fen=amount_fen,
        occurred_at=obj.created_at,
    )


def to_csv(lines: Iterable[SettlementLine]) -> Iterator[str]:
    """The CSV text, a header then one row per line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for line in lines:
        writer.writerow(
            [
                line.day.isoformat(),
                line.type,
                line.reference,
                line.application_id,
                line.order_ref,
                line.amount_fen,
                line.occurred_at.isoformat(),
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


class PlantedLineCreate(BaseModel):
    """A line to add to a day's settlement file, whatever the lender's books say."""

    day: date
    type: LineType
    order_ref: str = Field(min_length=1, max_length=64)
    application_id: str = Field(min_length=1)
    amount_fen: int = Field(gt=0)
    reference: str | None = Field(
        default=None, description="the line's reference (may repeat a real one); a fresh id when left out"
    )
