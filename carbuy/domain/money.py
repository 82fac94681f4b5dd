"""Money rules: purchase tax with the new-energy relief, rounding in fen."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

VAT_RATE = Decimal("0.13")
PURCHASE_TAX_RATE = Decimal("0.10")
NEV_RELIEF_START = date(2026, 1, 1)
NEV_RELIEF_END = date(2027, 12, 31)
NEV_RELIEF_SHARE = Decimal("0.5")
NEV_RELIEF_CAP_FEN = 1_500_000
MARKET_TIMEZONE = ZoneInfo("Asia/Shanghai")


def market_date(moment: datetime) -> date:
    """The calendar day in China at a moment: the day that decides which tax rules apply."""
    return moment.astimezone(MARKET_TIMEZONE).date()


def round_fen(amount: Decimal) -> int:
    """Round to a whole fen, half up (the way invoices round)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_of(amount_fen: int, basis_points: int) -> int:
    """basis_points / 10,000 of an amount, rounded to the fen."""
    return round_fen(Decimal(amount_fen) * basis_points / 10_000)


def purchase_tax_fen(taxable_price_fen: int, on: date) -> int:
    """Vehicle purchase tax: 10% of the price without VAT, halved for new-energy vehicles in 2026-2027.

    The relief is capped at 15,000 CNY per vehicle. For a battery-leased car the taxable price is the car
    without the battery.
    """
    base = Decimal(taxable_price_fen) / (1 + VAT_RATE)
    full_tax = round_fen(base * PURCHASE_TAX_RATE)
    if NEV_RELIEF_START <= on <= NEV_RELIEF_END:
        relief = min(round_fen(Decimal(full_tax) * NEV_RELIEF_SHARE), NEV_RELIEF_CAP_FEN)
        return full_tax - relief
    return full_tax
