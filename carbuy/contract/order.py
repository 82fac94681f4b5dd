"""The order the platform's backend places: validated at the edge, carried by the workflow."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

ORDER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$"
PHONE_PATTERN = r"^1[3-9][0-9]{9}$"
_ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CARD_CHECK = "10X98765432"

Fen = Annotated[StrictInt, Field(ge=0, description="an amount in fen (1 CNY = 100 fen), a whole number")]


class PurchaseMode(StrEnum):
    """Whole vehicle, or vehicle with the battery leased (battery as a service)."""

    WHOLE = "whole"
    BATTERY_LEASE = "battery_lease"


class FinancingPlan(StrEnum):
    """How the purchase is financed."""

    FULL = "full"
    LOAN = "loan"
    BATTERY_LEASE = "battery_lease"
    LOAN_BATTERY = "loan_battery"

    @property
    def has_loan(self) -> bool:
        """Whether a lender is involved."""
        return self in (FinancingPlan.LOAN, FinancingPlan.LOAN_BATTERY)

    @property
    def has_battery_lease(self) -> bool:
        """Whether a battery operator is involved."""
        return self in (FinancingPlan.BATTERY_LEASE, FinancingPlan.LOAN_BATTERY)

    @property
    def mode(self) -> PurchaseMode:
        """The purchase mode this plan belongs to."""
        return PurchaseMode.BATTERY_LEASE if self.has_battery_lease else PurchaseMode.WHOLE


def id_card_checksum_ok(number: str) -> bool:
    """Whether an 18-character PRC resident identity card number has a valid check character."""
    if len(number) != 18 or not (number.isascii() and number[:17].isdigit()):
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_CARD_WEIGHTS, strict=True))
    return _ID_CARD_CHECK[total % 11] == number[17].upper()


class Customer(BaseModel):
    """The buyer (PII: never put in search attributes, memos, logs or metric labels)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    id_card_number: str = Field(min_length=18, max_length=18, description="PRC resident identity card number")
    phone: str = Field(pattern=PHONE_PATTERN, description="mainland mobile number, 11 digits")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()

    @field_validator("id_card_number")
    @classmethod
    def _id_card_valid(cls, value: str) -> str:
        if not id_card_checksum_ok(value):
            raise ValueError("not a valid 18-character resident identity card number (check character)")
        return value.upper()


class LoanTerms(BaseModel):
    """What the customer asks of the lender."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    down_payment_fen: Fen
    term_months: StrictInt = Field(ge=12, le=60)


class Order(BaseModel):
    """An order as the platform's backend places it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: str = Field(pattern=ORDER_ID_PATTERN, description="the backend's order id: the idempotency key")
    customer: Customer
    model: str = Field(min_length=1, max_length=64, description="catalogue model id, e.g. aion-ut-super")
    trim: str = Field(min_length=1, max_length=64)
    colour: str = Field(min_length=1, max_length=64)
    city: str = Field(min_length=1, max_length=64)
    mode: PurchaseMode
    financing_plan: FinancingPlan
    loan: LoanTerms | None = None
    commercial_insurance: bool = True
    price_fen: Annotated[StrictInt, Field(gt=0, description="the price the customer was shown, in fen")]

    @model_validator(mode="after")
    def _plan_fits(self) -> Order:
        if self.financing_plan.mode is not self.mode:
            raise ValueError(f"financing plan {self.financing_plan.value!r} does not fit mode {self.mode.value!r}")
        if self.financing_plan.has_loan and self.loan is None:
            raise ValueError(f"financing plan {self.financing_plan.value!r} needs loan terms")
        if not self.financing_plan.has_loan and self.loan is not None:
            raise ValueError(f"financing plan {self.financing_plan.value!r} takes no loan terms")
        return self
