"""Money rules: rounding to the fen, shares in basis points, purchase tax with the new-energy relief."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from carbuy.domain.money import NEV_RELIEF_CAP_FEN, percent_of, purchase_tax_fen, round_fen

IN_2026 = date(2026, 11, 26)
IN_2028 = date(2028, 3, 1)


@pytest.mark.parametrize(
    ("amount", "fen"),
    [
        (Decimal("0.49"), 0),
        (Decimal("0.5"), 1),
        (Decimal("1.5"), 2),
        (Decimal("2.5"), 3),  # half up, not to even: 2.5 -> 3
        (Decimal("397787.5"), 397788),
        (Decimal("7955752.2124"), 7955752),
    ],
)
def test_an_amount_is_rounded_to_the_fen_half_up_the_way_invoices_round(amount: Decimal, fen: int) -> None:
    assert round_fen(amount) == fen


def test_a_rounded_amount_is_a_plain_int() -> None:
    assert type(round_fen(Decimal("12.3"))) is int


@pytest.mark.parametrize(
    ("amount_fen", "basis_points", "share_fen"),
    [
        (8_990_000, 1_500, 1_348_500),  # 15% of 89,900 CNY = 13,485 CNY
        (4_990_000, 1_500, 748_500),  # 15% of 49,900 CNY = 7,485 CNY
        (8_990_000, 250, 224_750),  # 2.5% of 89,900 CNY = 2,247.50 CNY
        (8_990_000, 10_000, 8_990_000),
        (8_990_000, 0, 0),
        (1, 5_000, 1),  # half a fen rounds up
        (3, 5_000, 2),  # 1.5 fen rounds up
        (1, 4_999, 0),
    ],
)
def test_a_share_in_basis_points_is_rounded_to_the_fen(amount_fen: int, basis_points: int, share_fen: int) -> None:
    assert percent_of(amount_fen, basis_points) == share_fen


def test_purchase_tax_is_halved_for_a_new_energy_vehicle_in_2026() -> None:
    # 89,900 CNY / 1.13 = 79,557.52 CNY without VAT; 10% = 7,955.75 CNY = 795,575 fen;
    # relief = half of 795,575 = 397,787.5 -> 397,788 fen; tax = 795,575 - 397,788 = 397,787 fen (3,977.87 CNY).
    assert purchase_tax_fen(8_990_000, IN_2026) == 397_787


def test_purchase_tax_is_full_after_the_relief_window_ends() -> None:
    # 10% of 79,557.52 CNY = 7,955.75 CNY = 795,575 fen, no relief in 2028.
    assert purchase_tax_fen(8_990_000, IN_2028) == 795_575


def test_a_battery_leased_car_is_taxed_on_its_price_without_the_battery() -> None:
    # 49,900 CNY / 1.13 = 44,159.29 CNY; 10% = 4,415.93 CNY = 441,593 fen;
    # relief = 220,796.5 -> 220,797 fen; tax = 441,593 - 220,797 = 220,796 fen (2,207.96 CNY).
    assert purchase_tax_fen(4_990_000, IN_2026) == 220_796
    assert purchase_tax_fen(4_990_000, IN_2028) == 441_593


def test_the_relief_cap_is_fifteen_thousand_cny() -> None:
    assert NEV_RELIEF_CAP_FEN == 1_500_000


def test_the_relief_is_capped_at_fifteen_thousand_cny_for_an_expensive_car() -> None:
    # 565,000 CNY / 1.13 = 500,000 CNY; full tax 50,000 CNY = 5,000,000 fen;
    # half would be 2,500,000 fen but the relief is capped at 1,500,000 fen: tax = 3,500,000 fen (35,000 CNY).
    assert purchase_tax_fen(56_500_000, IN_2026) == 3_500_000


def test_the_relief_equals_the_cap_exactly_at_three_hundred_thirty_nine_thousand_cny() -> None:
    # 339,000 CNY / 1.13 = 300,000 CNY; full tax 3,000,000 fen; half = 1,500,000 fen = the cap: tax 1,500,000 fen.
    assert purchase_tax_fen(33_900_000, IN_2026) == 1_500_000


def test_the_cap_binds_just_above_three_hundred_thirty_nine_thousand_cny() -> None:
    # 33,900,113 fen / 1.13 = 30,000,100 fen; full tax 3,000,010 fen; half 1,500,005 > cap 1,500,000:
    # tax = 3,000,010 - 1,500,000 = 1,500,010 fen (not 1,500,005).
    assert purchase_tax_fen(33_900_113, IN_2026) == 1_500_010


@pytest.mark.parametrize(
    ("on", "tax_fen"),
    [
        (date(2025, 12, 31), 795_575),  # the day before the window: full tax
        (date(2026, 1, 1), 397_787),  # first day of the window
        (date(2027, 12, 31), 397_787),  # last day of the window
        (date(2028, 1, 1), 795_575),  # the day after: full tax
    ],
)
def test_the_relief_applies_from_the_first_of_january_2026_to_the_thirty_first_of_december_2027(
    on: date, tax_fen: int
) -> None:
    assert purchase_tax_fen(8_990_000, on) == tax_fen


def test_a_date_before_the_relief_window_pays_full_tax() -> None:
    assert purchase_tax_fen(8_990_000, date(2025, 6, 1)) == 795_575
