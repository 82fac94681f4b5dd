"""The catalogue, the quote of an order, the loan principal, the balance due and the cancellation refund."""

from __future__ import annotations

from datetime import date

import pytest

from carbuy.domain.catalogue import DEFAULT_CATALOGUE, Catalogue, CatalogueModel
from carbuy.domain.policy import PurchasePolicy
from carbuy.domain.pricing import (
    PricingError,
    Quote,
    balance_due_fen,
    cancellation_refund_fen,
    loan_principal_fen,
    quote,
    vehicle_price_fen,
)

IN_2026 = date(2026, 11, 26)
AION = DEFAULT_CATALOGUE.get("aion-ut-super")
assert AION is not None
WHOLE_ONLY = CatalogueModel(
    model_id="whole-only",
    name="A car sold only whole",
    price_whole_fen=12_000_000,
    trims=("base",),
    colours=("black",),
)


def aion_quote(
    *,
    battery_leased: bool = False,
    commercial_insurance: bool = True,
    down_payment_fen: int | None = None,
    on: date = IN_2026,
) -> Quote:
    assert AION is not None
    return quote(
        AION,
        battery_leased=battery_leased,
        commercial_insurance=commercial_insurance,
        down_payment_fen=down_payment_fen,
        policy=PurchasePolicy(),
        on=on,
    )


# --- the catalogue ---------------------------------------------------------------------------------------------


def test_the_default_catalogue_sells_the_aion_ut_super_at_its_jd_prices() -> None:
    assert AION is not None
    assert AION.price_whole_fen == 8_990_000  # 89,900 CNY
    assert AION.price_battery_lease_fen == 4_990_000  # 49,900 CNY
    assert AION.battery_monthly_rent_fen == 59_900  # 599 CNY a month
    assert "standard" in AION.trims
    assert set(AION.colours) == {"white", "grey", "green", "pink"}


def test_the_catalogue_has_no_model_under_an_unknown_id() -> None:
    assert DEFAULT_CATALOGUE.get("aion-ut-ultra") is None
    assert Catalogue(models=()).get("aion-ut-super") is None


def test_the_catalogue_finds_a_model_among_several() -> None:
    assert AION is not None
    catalogue = Catalogue(models=(AION, WHOLE_ONLY))
    assert catalogue.get("whole-only") is WHOLE_ONLY
    assert catalogue.get("aion-ut-super") is AION


# --- the vehicle price -----------------------------------------------------------------------------------------


def test_the_whole_vehicle_costs_eighty_nine_thousand_nine_hundred_cny() -> None:
    assert AION is not None
    assert vehicle_price_fen(AION, battery_leased=False) == 8_990_000


def test_the_vehicle_with_a_leased_battery_costs_forty_nine_thousand_nine_hundred_cny() -> None:
    assert AION is not None
    assert vehicle_price_fen(AION, battery_leased=True) == 4_990_000


def test_a_model_without_a_battery_lease_refuses_a_leased_battery_naming_the_mode() -> None:
    with pytest.raises(PricingError) as err:
        vehicle_price_fen(WHOLE_ONLY, battery_leased=True)
    assert err.value.field == "mode"
    assert "whole-only" in str(err.value)


def test_a_pricing_error_is_a_value_error() -> None:
    assert issubclass(PricingError, ValueError)


# --- the loan principal ----------------------------------------------------------------------------------------


def test_the_principal_is_the_price_less_the_down_payment() -> None:
    # 89,900 CNY with 30% down (26,970 CNY): the lender finances 62,930 CNY.
    assert loan_principal_fen(8_990_000, 2_697_000, 1_500) == 6_293_000


def test_a_down_payment_of_exactly_fifteen_percent_is_enough() -> None:
    # 15% of 89,900 CNY = 13,485 CNY; principal 89,900 - 13,485 = 76,415 CNY.
    assert loan_principal_fen(8_990_000, 1_348_500, 1_500) == 7_641_500


def test_a_down_payment_one_fen_below_fifteen_percent_is_refused_naming_the_field() -> None:
    with pytest.raises(PricingError) as err:
        loan_principal_fen(8_990_000, 1_348_499, 1_500)
    assert err.value.field == "loan.down_payment_fen"
    assert "1348500" in str(err.value)  # tells the minimum


def test_no_down_payment_at_all_is_refused() -> None:
    with pytest.raises(PricingError) as err:
        loan_principal_fen(4_990_000, 0, 1_500)
    assert err.value.field == "loan.down_payment_fen"
    assert "748500" in str(err.value)  # 15% of 49,900 CNY = 7,485 CNY


@pytest.mark.parametrize("down_payment_fen", [8_990_000, 8_990_001, 20_000_000])
def test_a_down_payment_of_the_whole_price_or_more_is_refused_naming_the_field(down_payment_fen: int) -> None:
    with pytest.raises(PricingError) as err:
        loan_principal_fen(8_990_000, down_payment_fen, 1_500)
    assert err.value.field == "loan.down_payment_fen"
    assert "full" in str(err.value)


def test_a_down_payment_one_fen_below_the_price_leaves_a_one_fen_loan() -> None:
    assert loan_principal_fen(8_990_000, 8_989_999, 1_500) == 1


def test_the_minimum_down_payment_share_comes_from_the_policy() -> None:
    # with a 20% minimum, 15% down is refused and 20% (17,980 CNY) is enough.
    with pytest.raises(PricingError):
        loan_principal_fen(8_990_000, 1_348_500, 2_000)
    assert loan_principal_fen(8_990_000, 1_798_000, 2_000) == 7_192_000


# --- the quote -------------------------------------------------------------------------------------------------


def test_a_whole_vehicle_paid_in_full_is_quoted_with_the_2026_tax_relief() -> None:
    q = aion_quote()
    assert q == Quote(
        price_fen=8_990_000,
        deposit_fen=10_000,
        compulsory_premium_fen=95_000,
        commercial_premium_fen=224_750,  # 2.5% of 89,900 CNY = 2,247.50 CNY
        purchase_tax_fen=397_787,  # 79,557.52 CNY * 10% = 7,955.75, halved -> 3,977.87 CNY
        plate_fee_fen=50_000,
        loan_principal_fen=0,
        battery_monthly_rent_fen=0,
    )
    assert q.premium_fen == 319_750  # 950 + 2,247.50 CNY


def test_a_battery_leased_vehicle_is_quoted_on_its_price_without_the_battery() -> None:
    q = aion_quote(battery_leased=True)
    assert q.price_fen == 4_990_000
    assert q.purchase_tax_fen == 220_796  # 44,159.29 CNY * 10% = 4,415.93, less relief 2,207.97 -> 2,207.96 CNY
    assert q.commercial_premium_fen == 124_750  # 2.5% of 49,900 CNY
    assert q.battery_monthly_rent_fen == 59_900  # 599 CNY
    assert q.loan_principal_fen == 0


def test_a_quote_without_commercial_insurance_has_only_the_compulsory_premium() -> None:
    q = aion_quote(commercial_insurance=False)
    assert q.commercial_premium_fen == 0
    assert q.premium_fen == 95_000


def test_a_loan_quote_carries_the_principal() -> None:
    q = aion_quote(down_payment_fen=2_697_000)  # 30% down
    assert q.loan_principal_fen == 6_293_000


def test_a_loan_with_a_leased_battery_is_financed_on_the_price_without_the_battery() -> None:
    q = aion_quote(battery_leased=True, down_payment_fen=748_500)  # exactly 15% of 49,900 CNY
    assert q.loan_principal_fen == 4_241_500  # 49,900 - 7,485 = 42,415 CNY
    assert q.battery_monthly_rent_fen == 59_900


def test_a_quote_for_an_order_placed_in_2028_pays_full_tax() -> None:
    assert aion_quote(on=date(2028, 1, 1)).purchase_tax_fen == 795_575


def test_a_quote_with_too_small_a_down_payment_is_refused_naming_the_field() -> None:
    with pytest.raises(PricingError) as err:
        aion_quote(down_payment_fen=1_000_000)
    assert err.value.field == "loan.down_payment_fen"


def test_a_quote_takes_the_deposit_premium_and_plate_fee_from_the_policy() -> None:
    assert AION is not None
    policy = PurchasePolicy(deposit_fen=50_000, compulsory_premium_fen=100_000, plate_fee_fen=0)
    q = quote(AION, battery_leased=False, commercial_insurance=True, down_payment_fen=None, policy=policy, on=IN_2026)
    assert (q.deposit_fen, q.compulsory_premium_fen, q.plate_fee_fen) == (50_000, 100_000, 0)


# --- the balance due -------------------------------------------------------------------------------------------


def test_the_balance_of_a_whole_vehicle_paid_in_full() -> None:
    q = aion_quote()
    # 89,900 + 3,197.50 premiums + 3,977.87 tax + 500 plate - 100 deposit = 97,475.37 CNY
    assert balance_due_fen(q, premium_fen=q.premium_fen, loan_principal_fen=0) == 9_747_537


def test_the_balance_of_a_loan_purchase_leaves_out_the_principal() -> None:
    q = aion_quote(down_payment_fen=2_697_000)
    # 97,475.37 CNY - 62,930 CNY principal = 34,545.37 CNY
    assert balance_due_fen(q, premium_fen=q.premium_fen, loan_principal_fen=q.loan_principal_fen) == 3_454_537


def test_the_balance_of_a_battery_leased_vehicle() -> None:
    q = aion_quote(battery_leased=True)
    # 49,900 + 950 + 1,247.50 premiums + 2,207.96 tax + 500 plate - 100 deposit = 54,705.46 CNY
    assert balance_due_fen(q, premium_fen=q.premium_fen, loan_principal_fen=0) == 5_470_546


def test_the_balance_uses_the_premium_actually_bound_not_the_quoted_one() -> None:
    q = aion_quote()
    # compulsory only (950 CNY) instead of 3,197.50 CNY: 97,475.37 - 2,247.50 = 95,227.87 CNY
    assert balance_due_fen(q, premium_fen=95_000, loan_principal_fen=0) == 9_522_787


def test_the_balance_is_never_below_zero() -> None:
    q = aion_quote()
    assert balance_due_fen(q, premium_fen=0, loan_principal_fen=20_000_000) == 0


# --- the cancellation refund -----------------------------------------------------------------------------------


def test_a_cancellation_before_lock_refunds_the_whole_deposit() -> None:
    assert (
        cancellation_refund_fen(deposit_paid_fen=10_000, locked=False, partner_refused=False, fee_fen=10_000) == 10_000
    )


def test_a_cancellation_after_lock_keeps_the_fee() -> None:
    assert cancellation_refund_fen(deposit_paid_fen=10_000, locked=True, partner_refused=False, fee_fen=10_000) == 0
    assert (
        cancellation_refund_fen(deposit_paid_fen=50_000, locked=True, partner_refused=False, fee_fen=10_000) == 40_000
    )


def test_a_cancellation_after_a_partner_refusal_charges_no_fee() -> None:
    assert cancellation_refund_fen(deposit_paid_fen=10_000, locked=True, partner_refused=True, fee_fen=10_000) == 10_000


def test_a_cancellation_refund_is_never_negative() -> None:
    assert cancellation_refund_fen(deposit_paid_fen=5_000, locked=True, partner_refused=False, fee_fen=10_000) == 0


def test_a_cancellation_with_no_deposit_paid_refunds_nothing() -> None:
    assert cancellation_refund_fen(deposit_paid_fen=0, locked=False, partner_refused=False, fee_fen=10_000) == 0
    assert cancellation_refund_fen(deposit_paid_fen=0, locked=True, partner_refused=False, fee_fen=10_000) == 0


def test_a_cancellation_after_lock_with_no_fee_refunds_everything() -> None:
    assert cancellation_refund_fen(deposit_paid_fen=10_000, locked=True, partner_refused=False, fee_fen=0) == 10_000
