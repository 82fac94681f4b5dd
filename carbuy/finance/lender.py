"""The lender's side: its settlement file of a day (CSV over HTTP), read line by line as it streams in."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from typing import Protocol

import httpx

from carbuy.finance.model import LenderLine
from carbuy.runtime.settings import PartnerSettings

COLUMNS = ("day", "type", "reference", "application_id", "order_ref", "amount_fen")
LINE_TYPES = ("disbursement", "return")


class MalformedSettlementFile(ValueError):
    """The lender's file lacks a column or has a line that cannot be read."""


class LenderSource(Protocol):
    """What reconciliation reads from a lender."""

    def lines(self, day: date) -> Iterator[LenderLine]:
        """Every disbursement and principal return the lender booked on the day."""
        ...


class LenderFile:
    """The settlement file at `<lender URL>/settlements/<day>.csv`."""

    def __init__(self, *, base_url: str, timeout_s: float) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    @classmethod
    def from_settings(cls, settings: PartnerSettings) -> LenderFile:
        """The lender as the partner settings place it."""
        return cls(base_url=settings.url_of("lender"), timeout_s=settings.timeout_s)

    def lines(self, day: date) -> Iterator[LenderLine]:
        """Every disbursement and principal return the lender booked on the day, streamed."""
        with self._http.stream("GET", f"/settlements/{day.isoformat()}.csv") as response:
            response.raise_for_status()
            reader = csv.DictReader(response.iter_lines())
            missing = set(COLUMNS) - set(reader.fieldnames or ())
            if missing:
                raise MalformedSettlementFile(f"the lender's file of {day} lacks {', '.join(sorted(missing))}")
            for number, row in enumerate(reader, start=2):
                yield _line(row, number, day)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()


def _line(row: dict[str, str], number: int, day: date) -> LenderLine:
    kind = row["type"]
    if kind not in LINE_TYPES:
        raise MalformedSettlementFile(f"line {number} of the lender's file of {day}: unknown type {kind!r}")
    try:
        return LenderLine(
            day=date.fromisoformat(row["day"]),
            type="disbursement" if kind == "disbursement" else "return",
            reference=row["reference"],
            application_id=row["application_id"],
            order_ref=row["order_ref"],
            amount_fen=int(row["amount_fen"]),
        )
    except ValueError as error:
        raise MalformedSettlementFile(f"line {number} of the lender's file of {day}: {error}") from error
