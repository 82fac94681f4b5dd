"""What reconciliation compares (one row per movement, from each side) and the report it produces."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from carbuy.contract.finance import DiscrepancyType, ReconcileResult

ObjectType = Literal["charge", "refund"]
LineType = Literal["disbursement", "return"]
Direction = Literal["in", "out", "info"]


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One ledger row, as reconciliation needs it."""

    purchase_id: str
    order_ref: str
    kind: str
    key: str
    reference: str
    amount_fen: int
    counterparty: str
    market_day: date


@dataclass(frozen=True, slots=True)
class ProcessorObject:
    """A PaymentIntent or a Refund at the payment processor, with carbuy's metadata read out.

    kind is the ledger kind it should be recorded as (deposit_charged, …, balance_refunded); None for a refund
    whose PaymentIntent is not a carbuy charge. charge_ok: a refund's PaymentIntent is a succeeded carbuy charge
    of the same order. settled: money moved (a succeeded charge; a refund pending or succeeded).
    """

    object: ObjectType
    reference: str
    order_ref: str
    key: str
    kind: str | None
    amount_fen: int
    created: int
    settled: bool
    status: str
    charge_ref: str | None = None
    charge_ok: bool = True


@dataclass(frozen=True, slots=True)
class LenderLine:
    """One line of the lender's settlement file."""

    day: date
    type: LineType
    reference: str
    application_id: str
    order_ref: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class OutcomeNets:
    """A purchase that ended on the day, with the nets the domain expects and the nets its ledger rows add up to."""

    purchase_id: str
    order_ref: str
    state: str
    expected_processor_fen: int
    expected_lender_fen: int
    ledger_processor_fen: int
    ledger_lender_fen: int


class Progress(Protocol):
    """Told how far each phase of a long run has got (total None: not known in advance)."""

    def __call__(self, phase: str, done: int, total: int | None) -> None: ...


def no_progress(phase: str, done: int, total: int | None) -> None:
    """A progress callback that ignores everything."""


class Discrepancy(BaseModel):
    """One difference between carbuy's books and a counterparty's, on one purchase."""

    type: DiscrepancyType
    purchase_id: str
    order_ref: str
    kind: str | None = Field(default=None, description="the ledger kind concerned, when there is one")
    expected_fen: int | None = Field(
        default=None, description="what carbuy's ledger (or the domain) says; None: carbuy has no record of it"
    )
    actual_fen: int | None = Field(
        default=None, description="what the processor or the lender says; None: it has no record of it"
    )
    reference: str | None = Field(default=None, description="pi_…, re_…, a disbursement or application id")
    explanation: str


class KindTotal(BaseModel):
    """One kind of movement on the day: the ledger's count and sum, and the counterparty's for the same kind."""

    kind: str
    direction: Direction
    counterparty: str
    ledger_count: int = 0
    ledger_fen: int = 0
    counterpart_count: int | None = None
    counterpart_fen: int | None = None


class ReconciliationReport(BaseModel):
    """A day's reconciliation: totals, counts, and every discrepancy found (none on a clean day)."""

    day: date
    generated_at: datetime
    ledger_rows: int
    processor_objects: int
    lender_lines: int
    purchases_ended: int
    skipped_objects: int = Field(description="processor objects without carbuy's metadata (not carbuy's money)")
    totals: list[KindTotal]
    discrepancies: list[Discrepancy]

    @property
    def movements(self) -> int:
        """Rows, objects and lines compared."""
        return self.ledger_rows + self.processor_objects + self.lender_lines

    @property
    def by_type(self) -> dict[DiscrepancyType, int]:
        """How many discrepancies of each type (every type listed, zero included)."""
        counted = Counter(d.type for d in self.discrepancies)
        return {kind: counted.get(kind, 0) for kind in DiscrepancyType}

    def totals_of(self, direction: Literal["in", "out"]) -> tuple[int, int]:
        """Sum of the ledger's and the counterparties' movements in one direction (fen)."""
        rows = [t for t in self.totals if t.direction == direction]
        return sum(t.ledger_fen for t in rows), sum(t.counterpart_fen or 0 for t in rows)

    def result(self) -> ReconcileResult:
        """The small summary a workflow or a CLI prints."""
        return ReconcileResult(
            day=self.day,
            movements=self.movements,
            discrepancies=len(self.discrepancies),
            by_type={k: v for k, v in self.by_type.items() if v},
        )
