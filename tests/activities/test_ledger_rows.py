"""Each money activity writes its ledger row once: run twice under one key (a retry), one row, real servers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Literal

import pytest
from sqlalchemy import Engine, delete
from temporalio.testing import ActivityEnvironment

from activities.financing import FinancingActivities
from activities.ledger import LedgerActivities
from activities.logistics import LogisticsActivities
from activities.payments import PaymentActivities
from activities.stripe_gateway import StripeGateway
from carbuy.contract.activities import (
    ApplyForLoanInput,
    BookShipmentInput,
    CancelLoanInput,
    CancelShipmentInput,
    ChargeInput,
    DisburseLoanInput,
    RefundInput,
)
from carbuy.contract.events import PartnerEventType as Event
from carbuy.contract.ledger import RecordCancellationFeeInput, RecordPurchaseOutcomeInput
from carbuy.devtools.stripe_cards import GOOD_CARD, create_test_payment_method
from carbuy.runtime.settings import DatabaseSettings, Settings, StripeSettings
from carbuy.store.db import make_engine, migrate, session_scope
from carbuy.store.ledger import LedgerEntry, LedgerStore, entries_for_purchase
from carbuy.store.outcomes import OutcomeStore, get_outcome
from carbuy.store.payment_keys import PaymentKeyStore
from tests.fixtures.sandbox import CALLBACK_DELAY_S, CallbackSink, SandboxControl


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The test's own database, migrated."""
    engine = make_engine(DatabaseSettings(url=db_url))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
async def payments(stripe_settings: StripeSettings, engine: Engine) -> AsyncIterator[PaymentActivities]:
    activities = PaymentActivities(
        gateway=StripeGateway(stripe_settings), keys=PaymentKeyStore(engine), ledger=LedgerStore(engine)
    )
    yield activities
    await activities.aclose()


@pytest.fixture
def partner_settings(sandbox_settings: Settings, db_url: str) -> Settings:
    """The sandbox's partners, with the test's database."""
    return sandbox_settings.model_copy(update={"db": DatabaseSettings(url=db_url)})


def rows(engine: Engine, order_ref: str) -> list[tuple[str, int, str, str]]:
    """The order's ledger rows as (kind, amount, counterparty, reference)."""
    with session_scope(engine) as session:
        found = entries_for_purchase(session=session, purchase_id=f"purchase-{order_ref}")
    return [(r.kind, r.amount_fen, r.counterparty, r.reference) for r in found]


def charge(
    stripe_settings: StripeSettings, kind: Literal["deposit", "balance"] = "deposit", amount_fen: int = 10_000
) -> ChargeInput:
    order_ref = f"ORD-{uuid.uuid4().hex[:10]}"
    return ChargeInput(
        key=f"purchase-{order_ref}:{kind}",
        order_ref=order_ref,
        kind=kind,
        amount_fen=amount_fen,
        description=kind,
        payment_method=create_test_payment_method(stripe_settings, card_number=GOOD_CARD),
    )


async def test_a_charge_run_twice_writes_one_charged_row_per_kind(
    payments: PaymentActivities, stripe_settings: StripeSettings, engine: Engine
) -> None:
    deposit = charge(stripe_settings)
    balance = charge(stripe_settings, "balance", 3_454_537).model_copy(
        update={"order_ref": deposit.order_ref, "key": f"purchase-{deposit.order_ref}:balance"}
    )
    env = ActivityEnvironment()

    paid = [await env.run(payments.charge_payment, c) for c in (deposit, deposit, balance, balance)]

    assert rows(engine, deposit.order_ref) == [
        ("deposit_charged", 10_000, "processor", paid[0].payment_intent_id),
        ("balance_charged", 3_454_537, "processor", paid[2].payment_intent_id),
    ]


async def test_a_retry_after_a_crash_before_the_row_was_written_writes_it(
    payments: PaymentActivities, stripe_settings: StripeSettings, engine: Engine
) -> None:
    deposit = charge(stripe_settings)
    env = ActivityEnvironment()
    paid = await env.run(payments.charge_payment, deposit)
    with session_scope(engine) as session:
        session.execute(delete(LedgerEntry).where(LedgerEntry.order_ref == deposit.order_ref))  # type: ignore[arg-type]
        session.commit()

    again = await env.run(payments.charge_payment, deposit)

    assert again == paid
    assert rows(engine, deposit.order_ref) == [("deposit_charged", 10_000, "processor", paid.payment_intent_id)]


async def test_a_refund_run_twice_writes_one_refunded_row(
    payments: PaymentActivities, stripe_settings: StripeSettings, engine: Engine
) -> None:
    deposit = charge(stripe_settings)
    env = ActivityEnvironment()
    paid = await env.run(payments.charge_payment, deposit)
    refund = RefundInput(
        key=f"{deposit.key}:refund",
        order_ref=deposit.order_ref,
        kind="deposit",
        payment_intent_id=paid.payment_intent_id,
        amount_fen=10_000,
        reason="cancelled before lock",
    )

    first = await env.run(payments.refund_payment, refund)
    await env.run(payments.refund_payment, refund)

    assert rows(engine, deposit.order_ref) == [
        ("deposit_charged", 10_000, "processor", paid.payment_intent_id),
        ("deposit_refunded", 10_000, "processor", first.refund_id),
    ]


async def test_a_disbursement_and_a_cancellation_run_twice_write_one_row_each(
    partner_settings: Settings, sandbox: SandboxControl, callback_sink: CallbackSink, engine: Engine
) -> None:
    order_ref = sandbox.new_order_ref()
    lender = FinancingActivities.from_settings(partner_settings)
    env = ActivityEnvironment()
    try:
        filed = await env.run(
            lender.apply_for_loan,
            ApplyForLoanInput(
                key=f"{order_ref}-loan",
                order_ref=order_ref,
                applicant_name="Li Lei",
                applicant_id_number="11010519491231002X",
                vehicle_price_fen=8_990_000,
                down_payment_fen=1_800_000,
                term_months=36,
            ),
        )
        await callback_sink.wait_for(order_ref, until=Event.LOAN_APPROVED)
        disburse = DisburseLoanInput(
            key=f"{order_ref}-disburse", order_ref=order_ref, application_id=filed.application_id, amount_fen=7_190_000
        )
        cancel = CancelLoanInput(key=f"{order_ref}-cancel", order_ref=order_ref, application_id=filed.application_id)
        disbursed = [await env.run(lender.disburse_loan, disburse) for _ in range(2)]
        for _ in range(2):
            await env.run(lender.cancel_loan, cancel)
    finally:
        await lender.aclose()

    assert rows(engine, order_ref) == [
        ("loan_disbursed", 7_190_000, "lender", disbursed[0].disbursement_id),
        ("principal_returned", 7_190_000, "lender", filed.application_id),
    ]


async def test_a_shipment_cancelled_twice_after_pick_up_writes_one_fee_row_and_before_pick_up_none(
    partner_settings: Settings, sandbox: SandboxControl, callback_sink: CallbackSink, engine: Engine
) -> None:
    picked, waiting = sandbox.new_order_ref(), sandbox.new_order_ref()
    carrier = LogisticsActivities.from_settings(partner_settings)
    env = ActivityEnvironment()

    def booking(order_ref: str) -> BookShipmentInput:
        return BookShipmentInput(
            key=f"{order_ref}-ship",
            order_ref=order_ref,
            vin="LMGAE1U50TG000001",
            warehouse="GAC-Panyu-WH1",
            delivery_centre="GZ-Tianhe-01",
        )

    try:
        await sandbox.configure(callback_delay_s=0.3)
        free = await env.run(carrier.book_shipment, booking(waiting))
        await env.run(
            carrier.cancel_shipment,
            CancelShipmentInput(key=f"{waiting}-cancel", order_ref=waiting, shipment_id=free.shipment_id),
        )
        shipment = await env.run(carrier.book_shipment, booking(picked))
        await callback_sink.wait_for(picked, until=Event.SHIPMENT_PICKED_UP)
        cancel = CancelShipmentInput(key=f"{picked}-cancel", order_ref=picked, shipment_id=shipment.shipment_id)
        results = [await env.run(carrier.cancel_shipment, cancel) for _ in range(2)]
    finally:
        await sandbox.configure(callback_delay_s=CALLBACK_DELAY_S)
        await carrier.aclose()

    assert [r.fee_fen for r in results] == [20_000, 20_000]
    assert rows(engine, picked) == [("shipment_cancellation_fee", 20_000, "carrier", shipment.shipment_id)]
    assert rows(engine, waiting) == []


async def test_the_fee_kept_and_the_outcome_recorded_twice_are_stored_once(engine: Engine) -> None:
    order_ref = f"ORD-{uuid.uuid4().hex[:10]}"
    books = LedgerActivities(LedgerStore(engine), OutcomeStore(engine))
    env = ActivityEnvironment()
    fee = RecordCancellationFeeInput(
        key=f"purchase-{order_ref}:fee", order_ref=order_ref, payment_intent_id="pi_deposit", amount_fen=10_000
    )
    ended = RecordPurchaseOutcomeInput(
        key=f"purchase-{order_ref}:outcome",
        order_ref=order_ref,
        state="cancelled",
        locked=True,
        fee_waived=False,
        handed_over=False,
        deposit_fen=10_000,
        cancellation_fee_fen=10_000,
        price_fen=8_990_000,
        premium_fen=95_000,
        purchase_tax_fen=397_787,
        plate_fee_fen=50_000,
        loan_principal_fen=0,
        balance_due_fen=9_522_787,
        ended_at=datetime(2027, 3, 1, 17, 30, tzinfo=UTC),
    )

    fees = [await env.run(books.record_cancellation_fee, fee) for _ in range(2)]
    outcomes = [await env.run(books.record_purchase_outcome, ended) for _ in range(2)]

    assert fees[0] == fees[1] and outcomes[0] == outcomes[1]
    assert rows(engine, order_ref) == [("cancellation_fee_kept", 10_000, "processor", "pi_deposit")]
    with session_scope(engine) as session:
        stored = get_outcome(session=session, purchase_id=f"purchase-{order_ref}")
    assert stored is not None and (stored.id, stored.state, stored.balance_due_fen) == (
        outcomes[0].outcome_id,
        "cancelled",
        9_522_787,
    )
