"""The ledger as activities write it: money rows recorded once per key, and how each purchase ended.

The activity that moves money writes its row (charge, refund, disbursement, principal returned, carrier fee);
the two activities here record what no institution call stands for: the part of the deposit kept as the
cancellation fee, and the purchase's outcome.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Self

from sqlalchemy import Engine
from temporalio import activity

from activities.base import Activities
from carbuy.contract.activities import Activity, Keyed
from carbuy.contract.ledger import (
    RecordCancellationFeeInput,
    RecordCancellationFeeResult,
    RecordPurchaseOutcomeInput,
    RecordPurchaseOutcomeResult,
)
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.runtime.settings import Settings
from carbuy.store.engines import acquire_engine
from carbuy.store.ledger import Counterparty, LedgerEntry, LedgerEntryCreate, LedgerKind, LedgerStore
from carbuy.store.outcomes import OutcomeState, OutcomeStore, PurchaseOutcomeCreate


async def record_money(
    ledger: LedgerStore,
    input: Keyed,
    *,
    kind: LedgerKind,
    amount_fen: int,
    counterparty: Counterparty,
    reference: str,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """Write the ledger row of a money movement under the activity's key; a retry gets the first row back."""
    row = await ledger.record(
        LedgerEntryCreate(
            purchase_id=purchase_workflow_id(input.order_ref),
            order_ref=input.order_ref,
            kind=kind,
            key=input.key,
            amount_fen=amount_fen,
            counterparty=counterparty,
            reference=reference,
            occurred_at=occurred_at or datetime.now(UTC),
        )
    )
    activity.logger.info("ledger: %s %s fen for order %s (%s)", row.kind, row.amount_fen, row.order_ref, reference)
    return row


class LedgerActivities(Activities):
    """Activities that write finance's records directly (no institution involved)."""

    def __init__(self, ledger: LedgerStore, outcomes: OutcomeStore, *, owned_engine: Engine | None = None) -> None:
        self.ledger = ledger
        self.outcomes = outcomes
        self.owned_engine = owned_engine

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Built on the process's shared engine."""
        engine = acquire_engine(settings.db)
        return cls(LedgerStore(engine), OutcomeStore(engine), owned_engine=engine)

    @activity.defn(name=Activity.RECORD_CANCELLATION_FEE)
    async def record_cancellation_fee(self, input: RecordCancellationFeeInput) -> RecordCancellationFeeResult:
        """Record the part of the deposit kept as the cancellation fee."""
        row = await record_money(
            self.ledger,
            input,
            kind=LedgerKind.CANCELLATION_FEE_KEPT,
            amount_fen=input.amount_fen,
            counterparty=Counterparty.PROCESSOR,
            reference=input.payment_intent_id,
        )
        assert row.id is not None
        return RecordCancellationFeeResult(entry_id=row.id, amount_fen=row.amount_fen)

    @activity.defn(name=Activity.RECORD_PURCHASE_OUTCOME)
    async def record_purchase_outcome(self, input: RecordPurchaseOutcomeInput) -> RecordPurchaseOutcomeResult:
        """Record how the purchase ended, once."""
        facts = input.model_dump(exclude={"key", "order_ref", "state"})
        row = await self.outcomes.record(
            PurchaseOutcomeCreate(
                purchase_id=purchase_workflow_id(input.order_ref),
                order_ref=input.order_ref,
                state=OutcomeState(input.state),
                **facts,
            )
        )
        assert row.id is not None
        activity.logger.info("ledger: order %s ended %s", row.order_ref, row.state)
        return RecordPurchaseOutcomeResult(outcome_id=row.id, state=row.state)
