"""The nets each counterparty should show once a purchase has ended, with figures worked out by hand."""

from __future__ import annotations

from typing import Any

from carbuy.domain.settlement import ExpectedNets, OutcomeFacts, expected_nets

# Aion UT super, whole car, bought in 2026: 89,900 CNY; compulsory insurance 950 CNY; plate fee 500 CNY.
# Purchase tax: 8,990,000 / 1.13 = 7,955,752.21 -> 10% = 795,575 fen, NEV relief half (397,787.5 -> 397,788),
# so 397,787 fen are due.
PRICE_FEN = 8_990_000
PREMIUM_FEN = 95_000
TAX_FEN = 397_787
PLATE_FEN = 50_000
DEPOSIT_FEN = 10_000
FEE_FEN = 10_000
PRINCIPAL_FEN = 7_190_000  # 89,900 CNY less an 18,000 CNY down payment


def facts(**changes: Any) -> OutcomeFacts:
    """A purchase of the whole car that ended; completed, paid in full, unless changed."""
    fields: dict[str, Any] = {
        "state": "completed",
        "locked": True,
        "fee_waived": False,
        "handed_over": True,
        "deposit_fen": DEPOSIT_FEN,
        "cancellation_fee_fen": FEE_FEN,
        "price_fen": PRICE_FEN,
        "premium_fen": PREMIUM_FEN,
        "purchase_tax_fen": TAX_FEN,
        "plate_fee_fen": PLATE_FEN,
        "loan_principal_fen": 0,
    }
    return OutcomeFacts.model_validate({**fields, **changes})


def test_a_completed_full_payment_nets_price_premium_tax_and_plate_fee_at_the_processor() -> None:
    # deposit 10,000 + balance (8,990,000 + 95,000 + 397,787 + 50,000 - 10,000 = 9,522,787) = 9,532,787
    assert expected_nets(facts()) == ExpectedNets(processor_fen=9_532_787, lender_fen=0)


def test_a_completed_loan_purchase_nets_the_principal_at_the_lender_and_the_rest_at_the_processor() -> None:
    # balance 9,522,787 - 7,190,000 = 2,332,787; plus the 10,000 deposit
    assert expected_nets(facts(loan_principal_fen=PRINCIPAL_FEN)) == ExpectedNets(
        processor_fen=2_342_787, lender_fen=7_190_000
    )


def test_a_cancellation_before_lock_keeps_nothing() -> None:
    assert expected_nets(facts(state="cancelled", locked=False, handed_over=False)) == ExpectedNets(
        processor_fen=0, lender_fen=0
    )


def test_a_cancellation_after_lock_keeps_the_fee_and_returns_the_principal() -> None:
    ended = facts(state="cancelled", handed_over=False, loan_principal_fen=PRINCIPAL_FEN)

    assert expected_nets(ended) == ExpectedNets(processor_fen=10_000, lender_fen=0)


def test_a_partners_refusal_after_lock_waives_the_fee() -> None:
    ended = facts(state="failed", fee_waived=True, handed_over=False)

    assert expected_nets(ended) == ExpectedNets(processor_fen=0, lender_fen=0)


def test_the_fee_kept_is_never_more_than_the_deposit_paid() -> None:
    ended = facts(state="cancelled", handed_over=False, deposit_fen=6_000, cancellation_fee_fen=15_000)

    assert expected_nets(ended) == ExpectedNets(processor_fen=6_000, lender_fen=0)


def test_a_purchase_that_expired_before_the_deposit_nets_nothing() -> None:
    ended = facts(state="cancelled", locked=False, handed_over=False, deposit_fen=0)

    assert expected_nets(ended) == ExpectedNets(processor_fen=0, lender_fen=0)


def test_a_purchase_failing_after_handover_keeps_everything_paid_since_nothing_is_undone() -> None:
    ended = facts(state="failed", loan_principal_fen=PRINCIPAL_FEN)

    assert expected_nets(ended) == ExpectedNets(processor_fen=2_342_787, lender_fen=7_190_000)


def test_facts_are_read_from_a_stored_outcome_by_attribute() -> None:
    class Stored:
        state, locked, fee_waived, handed_over = "cancelled", True, False, False
        deposit_fen, cancellation_fee_fen, price_fen, premium_fen = DEPOSIT_FEN, FEE_FEN, PRICE_FEN, PREMIUM_FEN
        purchase_tax_fen, plate_fee_fen, loan_principal_fen = TAX_FEN, PLATE_FEN, 0

    assert expected_nets(OutcomeFacts.model_validate(Stored())) == ExpectedNets(processor_fen=10_000, lender_fen=0)
