"""The money audit against a real localstripe and the real ledger, on SQLite and PostgreSQL: clean purchases audit
clean, and each fault planted on purpose is reported exactly once, with its kind, on its purchase."""

from __future__ import annotations

from carbuy.finance.audit.model import AuditKind as A
from carbuy.finance.audit.model import MoneyAudit, PurchaseMoney
from carbuy.finance.audit.money import audit_money
from carbuy.runtime.settings import Settings
from carbuy.store.ledger import LedgerKind as K
from tests.audit.shop import BALANCE_FEN, DEPOSIT_FEN, FEE_FEN, PRICE_FEN, PRINCIPAL_FEN, Shop, key


def found(audit: MoneyAudit) -> list[tuple[str, A, str | None]]:
    """Every discrepancy as (order, kind, reference)."""
    return [(d.order_ref, d.kind, d.reference) for d in audit.discrepancies]


def row(audit: MoneyAudit, order: str) -> PurchaseMoney:
    """The audit's row of one purchase."""
    [purchase] = [p for p in audit.purchases if p.order_ref == order]
    return purchase


async def test_a_completed_loan_purchase_and_one_cancelled_after_lock_with_its_fee_kept_audit_clean(
    settings: Settings, shop: Shop
) -> None:
    completed = await shop.completed_loan_purchase()
    cancelled, _ = await shop.cancelled_after_lock()

    audit = await audit_money(settings)

    assert found(audit) == [] and audit.ok
    assert row(audit, completed).model_dump(
        include={
            "state",
            "stripe_net_fen",
            "ledger_net_fen",
            "expected_net_fen",
            "ledger_lender_fen",
            "expected_lender_fen",
            "charges",
        }
    ) == {
        "state": "completed",
        "stripe_net_fen": PRICE_FEN - PRINCIPAL_FEN,
        "ledger_net_fen": PRICE_FEN - PRINCIPAL_FEN,
        "expected_net_fen": PRICE_FEN - PRINCIPAL_FEN,
        "ledger_lender_fen": PRINCIPAL_FEN,
        "expected_lender_fen": PRINCIPAL_FEN,
        "charges": 2,
    }
    kept = row(audit, cancelled)
    assert (kept.state, kept.stripe_net_fen, kept.ledger_net_fen, kept.expected_net_fen, kept.refunds) == (
        "cancelled",
        FEE_FEN,
        FEE_FEN,
        FEE_FEN,
        1,
    )
    assert (audit.purchases_audited, audit.stripe_net_fen, audit.expected_net_fen) == (
        2,
        PRICE_FEN - PRINCIPAL_FEN + FEE_FEN,
        PRICE_FEN - PRINCIPAL_FEN + FEE_FEN,
    )


async def test_a_charge_the_ledger_never_recorded_is_missing_in_ledger(settings: Settings, shop: Shop) -> None:
    await shop.completed_loan_purchase()
    open_order = shop.new_order()
    unrecorded = shop.money.charge(open_order, "deposit", DEPOSIT_FEN, key=key(open_order, "deposit-1"))

    audit = await audit_money(settings)

    assert found(audit) == [(open_order, A.MISSING_IN_LEDGER, unrecorded)]
    assert row(audit, open_order).model_dump(
        include={"state", "stripe_net_fen", "ledger_net_fen", "expected_net_fen"}
    ) == {"state": "open", "stripe_net_fen": DEPOSIT_FEN, "ledger_net_fen": 0, "expected_net_fen": None}


async def test_a_ledger_row_stripe_has_no_object_for_is_missing_at_processor_and_not_an_outcome_difference(
    settings: Settings, shop: Shop
) -> None:
    order = await shop.completed_loan_purchase()
    shop.money.record(order, K.BALANCE_REFUNDED, 1_500, "re_nothing_like_it", key=key(order, "undo:refund_balance"))

    audit = await audit_money(settings)

    assert found(audit) == [(order, A.MISSING_AT_PROCESSOR, "re_nothing_like_it")]
    assert audit.discrepancies[0].expected_fen == 1_500 and audit.discrepancies[0].actual_fen is None


async def test_a_purchase_that_refunded_the_fee_it_should_have_kept_differs_from_its_outcome(
    settings: Settings, shop: Shop
) -> None:
    order, _ = await shop.cancelled_after_lock(fee_fen=0)  # the outcome still says locked with a fee

    audit = await audit_money(settings)

    assert found(audit) == [(order, A.NET_DIFFERS_FROM_OUTCOME, None)]
    assert (audit.discrepancies[0].expected_fen, audit.discrepancies[0].actual_fen) == (FEE_FEN, 0)


async def test_a_second_succeeded_charge_under_one_key_is_a_duplicate_charge(settings: Settings, shop: Shop) -> None:
    order, _ = await shop.cancelled_after_lock()
    again = shop.money.charge(order, "deposit", DEPOSIT_FEN, key=key(order, "deposit-1"))

    audit = await audit_money(settings)

    assert found(audit) == [(order, A.DUPLICATE_CHARGE, again)]
    assert "under the same key" in audit.discrepancies[0].explanation
    assert (row(audit, order).stripe_net_fen, row(audit, order).ledger_net_fen) == (FEE_FEN + DEPOSIT_FEN, FEE_FEN)


async def test_refunds_beyond_what_their_charge_received_are_reported_once_on_that_charge(
    settings: Settings, shop: Shop
) -> None:
    order = shop.new_order()
    deposit = await shop.charge(order, "deposit", DEPOSIT_FEN)
    await shop.refund(order, "deposit", deposit, DEPOSIT_FEN)
    extra = shop.money.refund(order, deposit, 3_000, key=key(order, "ops-refund"))
    shop.money.record(order, K.DEPOSIT_REFUNDED, 3_000, extra, key=key(order, "ops-refund"))

    audit = await audit_money(settings)

    assert found(audit) == [(order, A.REFUND_EXCEEDS_CHARGE, deposit)]
    refunded = (audit.discrepancies[0].expected_fen, audit.discrepancies[0].actual_fen)
    assert refunded == (DEPOSIT_FEN, DEPOSIT_FEN + 3_000)
    assert extra in audit.discrepancies[0].explanation


async def test_a_second_refund_under_one_key_is_a_duplicate_refund_and_not_also_an_excess(
    settings: Settings, shop: Shop
) -> None:
    order, deposit = await shop.cancelled_after_lock()
    again = shop.money.refund(order, deposit, DEPOSIT_FEN - FEE_FEN, key=key(order, f"undo:refund_deposit:{deposit}"))

    audit = await audit_money(settings)

    assert found(audit) == [(order, A.DUPLICATE_REFUND, again)]


async def test_an_audit_of_named_orders_reads_only_those(settings: Settings, shop: Shop) -> None:
    clean = await shop.completed_loan_purchase()
    faulty = shop.new_order()
    shop.money.charge(faulty, "deposit", DEPOSIT_FEN)

    audit = await audit_money(settings, order_refs=[clean, "ORD-never-seen"])

    assert audit.ok and {p.order_ref for p in audit.purchases} == {clean, "ORD-never-seen"}
    assert (row(audit, clean).charges, row(audit, clean).stripe_net_fen) == (2, DEPOSIT_FEN + BALANCE_FEN)
    assert row(audit, "ORD-never-seen").model_dump(include={"state", "stripe_net_fen", "ledger_rows"}) == {
        "state": "open",
        "stripe_net_fen": 0,
        "ledger_rows": 0,
    }
