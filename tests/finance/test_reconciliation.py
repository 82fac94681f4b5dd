"""Daily reconciliation against a real localstripe and the real sandbox lender, on SQLite and PostgreSQL:
every kind of discrepancy planted on purpose is reported exactly once, on the right purchase; a clean day is clean."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from sqlalchemy import Engine

from carbuy.contract.finance import DiscrepancyType as T
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.finance.book import LedgerBook
from carbuy.finance.engine import reconcile
from carbuy.finance.lender import LenderFile
from carbuy.finance.model import Discrepancy, ReconciliationReport
from carbuy.finance.processor import StripeProcessor
from carbuy.runtime.settings import Settings
from carbuy.store.ledger import LedgerKind as K
from carbuy.store.outcomes import OutcomeState
from tests.finance.money import DEPOSIT_FEN, PRINCIPAL_FEN, Money

PREMIUM_FEN, TAX_FEN, PLATE_FEN = 95_000, 397_788, 50_000
BALANCE_FEN = 8_990_000 + PREMIUM_FEN + TAX_FEN + PLATE_FEN - DEPOSIT_FEN - PRINCIPAL_FEN


def run(settings: Settings, engine: Engine, day: date) -> ReconciliationReport:
    processor = StripeProcessor(settings.stripe, page_size=3)  # small pages: pagination is exercised
    lender = LenderFile.from_settings(settings.partners)
    try:
        return reconcile(day, book=LedgerBook(engine), processor=processor, lender=lender)
    finally:
        processor.close()
        lender.close()


def clean_purchases(money: Money) -> list[str]:
    """A completed loan purchase, one cancelled before lock, and one cancelled after lock with its loan returned."""
    completed, before_lock, after_lock = money.new_order(), money.new_order(), money.new_order()

    deposit = money.charge(completed, "deposit", DEPOSIT_FEN)
    money.record(completed, K.DEPOSIT_CHARGED, DEPOSIT_FEN, deposit)
    balance = money.charge(completed, "balance", BALANCE_FEN)
    money.record(completed, K.BALANCE_CHARGED, BALANCE_FEN, balance)
    loan = money.loan(completed)
    money.record(completed, K.LOAN_DISBURSED, PRINCIPAL_FEN, money.disburse(completed, loan))
    money.ended(
        completed,
        OutcomeState.COMPLETED,
        locked=True,
        handed_over=True,
        premium_fen=PREMIUM_FEN,
        purchase_tax_fen=TAX_FEN,
        plate_fee_fen=PLATE_FEN,
        loan_principal_fen=PRINCIPAL_FEN,
        balance_due_fen=BALANCE_FEN,
    )

    deposit = money.charge(before_lock, "deposit", DEPOSIT_FEN)
    money.record(before_lock, K.DEPOSIT_CHARGED, DEPOSIT_FEN, deposit)
    money.record(before_lock, K.DEPOSIT_REFUNDED, DEPOSIT_FEN, money.refund(before_lock, deposit, DEPOSIT_FEN))
    money.ended(before_lock, OutcomeState.CANCELLED)

    deposit = money.charge(after_lock, "deposit", DEPOSIT_FEN)
    money.record(after_lock, K.DEPOSIT_CHARGED, DEPOSIT_FEN, deposit)
    money.record(after_lock, K.CANCELLATION_FEE_KEPT, DEPOSIT_FEN, deposit)
    loan = money.loan(after_lock)
    money.record(after_lock, K.LOAN_DISBURSED, PRINCIPAL_FEN, money.disburse(after_lock, loan))
    money.record(after_lock, K.PRINCIPAL_RETURNED, money.cancel_loan(after_lock, loan), loan)
    money.ended(after_lock, OutcomeState.CANCELLED, locked=True, loan_principal_fen=PRINCIPAL_FEN)
    return [completed, before_lock, after_lock]


def only(report: ReconciliationReport, type_: T) -> Discrepancy:
    found = [d for d in report.discrepancies if d.type == type_]
    assert len(found) == 1, f"{type_}: {found}"
    return found[0]


def test_a_clean_day_reports_no_discrepancy(settings: Settings, engine: Engine, money: Money, day: date) -> None:
    clean_purchases(money)

    report = run(settings, engine, day)

    assert report.discrepancies == []
    assert (report.ledger_rows, report.processor_objects, report.lender_lines, report.purchases_ended) == (9, 5, 3, 3)
    totals = {t.kind: t for t in report.totals}
    assert (totals["deposit_charged"].ledger_fen, totals["deposit_charged"].counterpart_fen) == (30_000, 30_000)
    assert (totals["loan_disbursed"].ledger_count, totals["loan_disbursed"].counterpart_count) == (2, 2)
    assert totals["cancellation_fee_kept"].counterpart_fen is None
    assert report.totals_of("in") == (30_000 + BALANCE_FEN + 2 * PRINCIPAL_FEN,) * 2


def test_every_planted_discrepancy_is_reported_exactly_once_on_its_purchase(
    settings: Settings, engine: Engine, money: Money, day: date
) -> None:
    clean_purchases(money)
    plant = {t: money.new_order() for t in T}

    o = plant[T.MISSING_IN_LEDGER]  # the balance was charged; the ledger write was lost
    money.record(o, K.DEPOSIT_CHARGED, DEPOSIT_FEN, money.charge(o, "deposit", DEPOSIT_FEN))
    unrecorded = money.charge(o, "balance", 500_000)

    o = plant[T.MISSING_AT_PROCESSOR]  # the ledger names a balance charge Stripe never made
    money.record(o, K.DEPOSIT_CHARGED, DEPOSIT_FEN, money.charge(o, "deposit", DEPOSIT_FEN))
    money.record(o, K.BALANCE_CHARGED, 500_000, "pi_never_made")

    o = plant[T.AMOUNT_MISMATCH]
    mismatched = money.charge(o, "deposit", DEPOSIT_FEN)
    money.record(o, K.DEPOSIT_CHARGED, 1_000, mismatched)

    o = plant[T.DUPLICATE_CHARGE]  # a retry charged the same key again
    key = f"{purchase_workflow_id(o)}:deposit-1"
    money.record(o, K.DEPOSIT_CHARGED, DEPOSIT_FEN, money.charge(o, "deposit", DEPOSIT_FEN, key=key), key=key)
    duplicate = money.charge(o, "deposit", DEPOSIT_FEN, key=key)

    o = plant[T.REFUND_WITHOUT_CHARGE]  # a refund taken from a payment that is not this purchase's charge
    money.record(o, K.DEPOSIT_CHARGED, DEPOSIT_FEN, money.charge(o, "deposit", DEPOSIT_FEN))
    stranger = money.charge(o, "deposit", 5_000, metadata={})
    stray_refund = money.refund(o, stranger, 5_000)
    money.record(o, K.DEPOSIT_REFUNDED, 5_000, stray_refund)

    ghost = money.charge(plant[T.PAYMENT_WITHOUT_PURCHASE], "deposit", DEPOSIT_FEN)

    o = plant[T.LENDER_MISMATCH]  # the ledger books more than the lender paid out
    loan = money.loan(o)
    disbursement = money.disburse(o, loan, PRINCIPAL_FEN - 100)
    money.record(o, K.LOAN_DISBURSED, PRINCIPAL_FEN, disbursement)

    o = plant[T.NET_DIFFERS_FROM_OUTCOME]  # cancelled after lock, yet the whole deposit went back
    deposit = money.charge(o, "deposit", DEPOSIT_FEN)
    money.record(o, K.DEPOSIT_CHARGED, DEPOSIT_FEN, deposit)
    money.record(o, K.DEPOSIT_REFUNDED, DEPOSIT_FEN, money.refund(o, deposit, DEPOSIT_FEN))
    money.ended(o, OutcomeState.CANCELLED, locked=True)

    report = run(settings, engine, day)

    assert sorted((d.type, d.purchase_id) for d in report.discrepancies) == sorted(
        (t, purchase_workflow_id(order)) for t, order in plant.items()
    )
    assert (only(report, T.MISSING_IN_LEDGER).reference, only(report, T.MISSING_IN_LEDGER).actual_fen) == (
        unrecorded,
        500_000,
    )
    assert only(report, T.MISSING_AT_PROCESSOR).reference == "pi_never_made"
    mismatch = only(report, T.AMOUNT_MISMATCH)
    assert (mismatch.reference, mismatch.expected_fen, mismatch.actual_fen) == (mismatched, 1_000, DEPOSIT_FEN)
    assert only(report, T.DUPLICATE_CHARGE).reference == duplicate
    assert only(report, T.REFUND_WITHOUT_CHARGE).reference == stray_refund
    assert stranger in only(report, T.REFUND_WITHOUT_CHARGE).explanation
    assert only(report, T.PAYMENT_WITHOUT_PURCHASE).reference == ghost
    lender = only(report, T.LENDER_MISMATCH)
    assert (lender.reference, lender.expected_fen, lender.actual_fen) == (
        disbursement,
        PRINCIPAL_FEN,
        PRINCIPAL_FEN - 100,
    )
    net = only(report, T.NET_DIFFERS_FROM_OUTCOME)
    assert (net.expected_fen, net.actual_fen) == (DEPOSIT_FEN, 0)
    assert report.skipped_objects == 1  # the stranger's payment carries no carbuy metadata


def test_lender_lines_and_ledger_rows_without_a_partner_are_each_one_lender_mismatch(
    settings: Settings, engine: Engine, money: Money, day: date
) -> None:
    clean_purchases(money)
    booked_by_lender_only, booked_by_carbuy_only = money.new_order(), money.new_order()
    planted = httpx.post(
        f"{settings.partners.base_url}/_sandbox/lender/settlement-lines",
        json={
            "day": day.isoformat(),
            "type": "disbursement",
            "order_ref": booked_by_lender_only,
            "application_id": "loan_unknown",
            "amount_fen": 4_000_000,
        },
    )
    planted.raise_for_status()
    loan = money.loan(booked_by_carbuy_only)
    money.record(booked_by_carbuy_only, K.PRINCIPAL_RETURNED, PRINCIPAL_FEN, loan)  # the lender never got it back

    report = run(settings, engine, day)

    assert [(d.type, d.purchase_id, d.expected_fen, d.actual_fen) for d in report.discrepancies] == sorted(
        [
            (T.LENDER_MISMATCH, purchase_workflow_id(booked_by_lender_only), None, 4_000_000),
            (T.LENDER_MISMATCH, purchase_workflow_id(booked_by_carbuy_only), PRINCIPAL_FEN, None),
        ],
        key=lambda d: d[1],
    )
    assert report.lender_lines == 4


def test_a_movement_booked_across_midnight_is_not_a_discrepancy_on_either_day(
    settings: Settings, engine: Engine, money: Money, day: date
) -> None:
    order = money.new_order()
    deposit = money.charge(order, "deposit", DEPOSIT_FEN)
    money.record(order, K.DEPOSIT_CHARGED, DEPOSIT_FEN, deposit, days_ago=1)

    today = run(settings, engine, day)
    yesterday = run(settings, engine, day - timedelta(days=1))

    assert (today.discrepancies, today.processor_objects, today.ledger_rows) == ([], 1, 0)
    assert (yesterday.discrepancies, yesterday.processor_objects, yesterday.ledger_rows) == ([], 0, 1)
