"""prepare_purchase: catalogue checks, the frozen quote and the order digest; OrderRejected names its fields."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from carbuy.contract.order import FinancingPlan, Order
from carbuy.contract.purchase import PurchaseInput
from carbuy.domain.catalogue import DEFAULT_CATALOGUE, Catalogue, CatalogueModel
from carbuy.domain.policy import PurchasePolicy
from starter.orders import OrderRejected, order_digest, prepare_purchase
from tests.factories import ID_CARD, order_body

KEY = "unit-digest-key"
IN_2026 = date(2026, 11, 26)


def order(plan: FinancingPlan = FinancingPlan.FULL, **changes: Any) -> Order:
    return Order.model_validate(order_body(plan, **changes))


def prepare(
    o: Order, *, catalogue: Catalogue = DEFAULT_CATALOGUE, policy: PurchasePolicy | None = None, on: date = IN_2026
) -> PurchaseInput:
    return prepare_purchase(o, catalogue=catalogue, policy=policy or PurchasePolicy(), digest_key=KEY, on=on)


def rejection(o: Order, **kwargs: Any) -> list[tuple[str, str]]:
    with pytest.raises(OrderRejected) as err:
        prepare(o, **kwargs)
    return err.value.errors


def fields(errors: list[tuple[str, str]]) -> list[str]:
    return [field for field, _ in errors]


# --- a sellable order ------------------------------------------------------------------------------------------


def test_a_whole_vehicle_order_is_priced_with_the_2026_relief() -> None:
    o = order()
    purchase = prepare(o)
    assert purchase.order == o
    assert purchase.policy == PurchasePolicy()
    assert purchase.quote.price_fen == 8_990_000
    assert purchase.quote.purchase_tax_fen == 397_787  # 3,977.87 CNY
    assert purchase.quote.commercial_premium_fen == 224_750  # 2.5% of 89,900 CNY
    assert purchase.quote.loan_principal_fen == 0
    assert purchase.order_digest == order_digest(o, KEY)


def test_a_battery_leased_order_is_priced_without_the_battery() -> None:
    purchase = prepare(order(FinancingPlan.BATTERY_LEASE))
    assert purchase.quote.price_fen == 4_990_000
    assert purchase.quote.purchase_tax_fen == 220_796  # 2,207.96 CNY
    assert purchase.quote.battery_monthly_rent_fen == 59_900


def test_a_loan_order_carries_the_principal_the_lender_finances() -> None:
    # factories put 30% down: 2,697,000 fen of 8,990,000 -> principal 6,293,000 fen.
    assert prepare(order(FinancingPlan.LOAN)).quote.loan_principal_fen == 6_293_000
    # loan_battery: 30% of 4,990,000 = 1,497,000 down -> principal 3,493,000 fen.
    assert prepare(order(FinancingPlan.LOAN_BATTERY)).quote.loan_principal_fen == 3_493_000


def test_an_order_placed_after_the_relief_window_pays_full_tax() -> None:
    assert prepare(order(), on=date(2028, 1, 1)).quote.purchase_tax_fen == 795_575


def test_an_order_without_commercial_insurance_is_quoted_without_its_premium() -> None:
    assert prepare(order(commercial_insurance=False)).quote.commercial_premium_fen == 0


# --- rejections ------------------------------------------------------------------------------------------------


def test_an_unknown_model_is_rejected_naming_the_model_and_what_is_on_sale() -> None:
    errors = rejection(order(model="aion-ut-ultra", trim="sport"))
    assert fields(errors) == ["model"]  # trim cannot be checked without a model
    assert "aion-ut-ultra" in errors[0][1]
    assert "aion-ut-super" in errors[0][1]


def test_an_unknown_trim_is_rejected_naming_the_trim() -> None:
    errors = rejection(order(trim="sport"))
    assert fields(errors) == ["trim"]
    assert "'sport'" in errors[0][1]
    assert "standard" in errors[0][1]


def test_an_unknown_colour_is_rejected_naming_the_colour() -> None:
    errors = rejection(order(colour="purple"))
    assert fields(errors) == ["colour"]
    assert "'purple'" in errors[0][1]
    assert "green" in errors[0][1]


def test_a_price_other_than_the_catalogue_price_is_rejected_naming_price_fen() -> None:
    errors = rejection(order(price_fen=4_990_000))  # the battery-lease price for a whole vehicle
    assert errors == [("price_fen", "the price is 8990000 fen, not 4990000")]


def test_the_whole_vehicle_price_on_a_battery_lease_order_is_rejected() -> None:
    errors = rejection(order(FinancingPlan.BATTERY_LEASE, price_fen=8_990_000))
    assert errors == [("price_fen", "the price is 4990000 fen, not 8990000")]


def test_a_down_payment_below_fifteen_percent_is_rejected_naming_the_loan_field() -> None:
    o = order(FinancingPlan.LOAN, loan={"down_payment_fen": 1_348_499, "term_months": 36})
    errors = rejection(o)
    assert fields(errors) == ["loan.down_payment_fen"]
    assert "1348500" in errors[0][1]


def test_a_down_payment_of_the_whole_price_is_rejected_naming_the_loan_field() -> None:
    o = order(FinancingPlan.LOAN_BATTERY, loan={"down_payment_fen": 4_990_000, "term_months": 36})
    assert fields(rejection(o)) == ["loan.down_payment_fen"]


def test_a_battery_lease_of_a_model_sold_only_whole_is_rejected_naming_the_mode() -> None:
    whole_only = CatalogueModel(
        model_id="aion-ut-super",
        name="sold whole only",
        price_whole_fen=8_990_000,
        trims=("standard",),
        colours=("green",),
    )
    errors = rejection(order(FinancingPlan.BATTERY_LEASE), catalogue=Catalogue(models=(whole_only,)))
    assert fields(errors) == ["mode"]


def test_every_catalogue_problem_is_listed_at_once() -> None:
    errors = rejection(order(trim="sport", colour="purple", price_fen=1))
    assert fields(errors) == ["trim", "colour", "price_fen"]


def test_a_loan_problem_is_listed_with_the_catalogue_problems_before_it() -> None:
    o = order(FinancingPlan.LOAN, trim="sport", loan={"down_payment_fen": 0, "term_months": 12})
    assert fields(rejection(o)) == ["trim", "loan.down_payment_fen"]


def test_a_rejection_reads_as_field_colon_message_and_is_a_value_error() -> None:
    rejected = OrderRejected([("trim", "unknown trim"), ("colour", "unknown colour")])
    assert isinstance(rejected, ValueError)
    assert str(rejected) == "trim: unknown trim; colour: unknown colour"


def test_the_minimum_down_payment_comes_from_the_policy() -> None:
    o = order(FinancingPlan.LOAN, loan={"down_payment_fen": 1_348_500, "term_months": 36})  # 15%
    assert prepare(o).quote.loan_principal_fen == 7_641_500
    assert fields(rejection(o, policy=PurchasePolicy(min_down_payment_bp=2_000))) == ["loan.down_payment_fen"]


# --- the order digest ------------------------------------------------------------------------------------------


def test_the_digest_of_the_same_order_is_the_same_every_time() -> None:
    body = order_body(order_id="ORD-DIGEST-1")
    first = order_digest(Order.model_validate(body), KEY)
    again = order_digest(Order.model_validate(dict(reversed(list(body.items())))), KEY)
    assert first == again
    assert len(first) == 64
    int(first, 16)  # hex


def test_the_digest_is_the_same_for_an_order_that_only_differs_in_how_it_was_written() -> None:
    body = order_body(order_id="ORD-DIGEST-2")
    written_differently = order_body(order_id="ORD-DIGEST-2")
    written_differently["customer"]["id_card_number"] = ID_CARD.lower()  # normalised upper case
    written_differently["customer"]["name"] = "  Li Lei  "  # trimmed
    assert order_digest(Order.model_validate(body), KEY) == order_digest(Order.model_validate(written_differently), KEY)


@pytest.mark.parametrize(
    "change",
    [
        {"colour": "pink"},
        {"price_fen": 8_990_001},
        {"commercial_insurance": False},
        {"city": "Shenzhen"},
        {"order_id": "ORD-DIGEST-OTHER"},
    ],
)
def test_the_digest_of_a_changed_order_is_different(change: dict[str, Any]) -> None:
    body = order_body(order_id="ORD-DIGEST-3")
    changed = {**body, **change}
    assert order_digest(Order.model_validate(body), KEY) != order_digest(Order.model_validate(changed), KEY)


def test_the_digest_of_an_order_with_another_customer_is_different() -> None:
    body = order_body(order_id="ORD-DIGEST-4")
    other = order_body(order_id="ORD-DIGEST-4")
    other["customer"]["phone"] = "13900139000"
    assert order_digest(Order.model_validate(body), KEY) != order_digest(Order.model_validate(other), KEY)


def test_the_digest_depends_on_the_key() -> None:
    o = order()
    assert order_digest(o, KEY) != order_digest(o, "another-key")


def test_the_purchase_input_carries_the_digest_under_the_given_key() -> None:
    o = order()
    assert prepare(o).order_digest == order_digest(o, KEY)
