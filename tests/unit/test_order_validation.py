"""Order, Customer and LoanTerms: what the backend may place, refused at the edge with the field named."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from carbuy.contract.order import (
    Customer,
    FinancingPlan,
    LoanTerms,
    Order,
    PurchaseMode,
    id_card_checksum_ok,
)
from tests.factories import ID_CARD, order_body

PHONE = "13800138000"


def locs(err: pytest.ExceptionInfo[ValidationError]) -> list[tuple[int | str, ...]]:
    return [e["loc"] for e in err.value.errors()]


def refused(body: dict[str, Any]) -> pytest.ExceptionInfo[ValidationError]:
    with pytest.raises(ValidationError) as err:
        Order.model_validate(body)
    return err


# --- the identity card number ----------------------------------------------------------------------------------


def test_an_id_card_number_with_the_right_check_character_is_valid() -> None:
    # 1101051949123100 2: digits x weights (7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2)
    # = 7+9+0+5+0+20+2+9+24+27+7+18+30+5+0+0+4 = 167; 167 mod 11 = 2; "10X98765432"[2] = "X".
    assert id_card_checksum_ok("11010519491231002X")


def test_an_id_card_number_ending_in_a_digit_is_checked_too() -> None:
    # 44030419900101001 : 28+36+0+15+0+16+2+9+54+0+0+9+0+5+0+0+2 = 176 = 16 * 11; 176 mod 11 = 0 -> "1".
    assert id_card_checksum_ok("440304199001010011")
    assert not id_card_checksum_ok("440304199001010012")


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # wrong check character (should be X)
        "11010519491231002",  # 17 characters
        "11010519491231002XX",  # 19 characters
        "1101051949123100AX",  # a letter in the body
        "X10105194912310021",
        "",
    ],
)
def test_an_id_card_number_with_a_wrong_check_character_or_shape_is_invalid(number: str) -> None:
    assert not id_card_checksum_ok(number)


def test_a_customer_with_a_bad_id_card_checksum_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        Customer(name="Li Lei", id_card_number="110105194912310021", phone=PHONE)
    assert locs(err) == [("id_card_number",)]
    assert "check character" in str(err.value)


def test_an_order_with_a_bad_id_card_checksum_is_refused_naming_the_nested_field() -> None:
    body = order_body()
    body["customer"]["id_card_number"] = "110105194912310021"
    assert locs(refused(body)) == [("customer", "id_card_number")]


def test_a_lower_case_check_character_is_accepted_and_stored_upper_case() -> None:
    customer = Customer(name="Li Lei", id_card_number=ID_CARD.lower(), phone=PHONE)
    assert customer.id_card_number == "11010519491231002X"


@pytest.mark.parametrize(
    "number",
    [
        "１１０１０５１９４９１２３１００２X",  # full-width digits
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits
    ],
)
def test_an_id_card_number_written_in_non_ascii_digits_is_refused(number: str) -> None:
    with pytest.raises(ValidationError):
        Customer(name="Li Lei", id_card_number=number, phone=PHONE)


# --- the rest of the customer ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "phone",
    [
        "12800138000",  # mobile numbers start 13-19
        "1380013800",  # 10 digits
        "138001380000",  # 12 digits
        "+8613800138000",
        "138 0013 8000",
        "23800138000",
        "13800138000\n",
        "",
    ],
)
def test_a_customer_with_a_bad_phone_number_is_refused_naming_the_field(phone: str) -> None:
    body = order_body()
    body["customer"]["phone"] = phone
    assert locs(refused(body)) == [("customer", "phone")]


@pytest.mark.parametrize("phone", ["13800138000", "19912345678", "15000000000"])
def test_a_mainland_mobile_number_is_accepted(phone: str) -> None:
    assert Customer(name="Li Lei", id_card_number=ID_CARD, phone=phone).phone == phone


def test_a_blank_name_is_refused_and_a_padded_name_is_trimmed() -> None:
    with pytest.raises(ValidationError) as err:
        Customer(name="   ", id_card_number=ID_CARD, phone=PHONE)
    assert locs(err) == [("name",)]
    assert Customer(name="  Li Lei ", id_card_number=ID_CARD, phone=PHONE).name == "Li Lei"


def test_an_email_is_optional_but_must_look_like_one() -> None:
    assert Customer(name="Li Lei", id_card_number=ID_CARD, phone=PHONE).email is None
    with pytest.raises(ValidationError) as err:
        Customer(name="Li Lei", id_card_number=ID_CARD, phone=PHONE, email="li.lei at example.com")
    assert locs(err) == [("email",)]


# --- plans and modes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plan", "has_loan", "has_battery_lease", "mode"),
    [
        (FinancingPlan.FULL, False, False, PurchaseMode.WHOLE),
        (FinancingPlan.LOAN, True, False, PurchaseMode.WHOLE),
        (FinancingPlan.BATTERY_LEASE, False, True, PurchaseMode.BATTERY_LEASE),
        (FinancingPlan.LOAN_BATTERY, True, True, PurchaseMode.BATTERY_LEASE),
    ],
)
def test_each_financing_plan_knows_its_lender_battery_operator_and_mode(
    plan: FinancingPlan, has_loan: bool, has_battery_lease: bool, mode: PurchaseMode
) -> None:
    assert (plan.has_loan, plan.has_battery_lease, plan.mode) == (has_loan, has_battery_lease, mode)


@pytest.mark.parametrize("plan", list(FinancingPlan))
def test_a_well_formed_order_is_accepted_for_every_plan(plan: FinancingPlan) -> None:
    order = Order.model_validate(order_body(plan))
    assert order.financing_plan is plan
    assert order.mode is plan.mode
    assert (order.loan is not None) == plan.has_loan


@pytest.mark.parametrize(
    ("plan", "mode"),
    [
        (FinancingPlan.FULL, "battery_lease"),
        (FinancingPlan.LOAN, "battery_lease"),
        (FinancingPlan.BATTERY_LEASE, "whole"),
        (FinancingPlan.LOAN_BATTERY, "whole"),
    ],
)
def test_a_financing_plan_that_does_not_fit_the_mode_is_refused(plan: FinancingPlan, mode: str) -> None:
    err = refused(order_body(plan, mode=mode))
    assert f"financing plan {plan.value!r} does not fit mode {mode!r}" in str(err.value)


@pytest.mark.parametrize("plan", [FinancingPlan.LOAN, FinancingPlan.LOAN_BATTERY])
def test_a_loan_plan_without_loan_terms_is_refused(plan: FinancingPlan) -> None:
    err = refused(order_body(plan, loan=None))
    assert "needs loan terms" in str(err.value)


@pytest.mark.parametrize("plan", [FinancingPlan.FULL, FinancingPlan.BATTERY_LEASE])
def test_loan_terms_on_a_plan_without_a_loan_are_refused(plan: FinancingPlan) -> None:
    err = refused(order_body(plan, loan={"down_payment_fen": 2_697_000, "term_months": 36}))
    assert "takes no loan terms" in str(err.value)


@pytest.mark.parametrize("term_months", [11, 61, 0])
def test_a_loan_term_outside_twelve_to_sixty_months_is_refused_naming_the_field(term_months: int) -> None:
    body = order_body(FinancingPlan.LOAN)
    body["loan"]["term_months"] = term_months
    assert locs(refused(body)) == [("loan", "term_months")]


@pytest.mark.parametrize("term_months", [12, 60])
def test_a_loan_term_of_twelve_or_sixty_months_is_accepted(term_months: int) -> None:
    assert LoanTerms(down_payment_fen=2_697_000, term_months=term_months).term_months == term_months


# --- amounts ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "price_fen",
    [
        -8_990_000,
        0,
        8_990_000.0,  # a float, even a whole one
        89_900.5,
        "8990000",  # a numeric string
        True,
        None,
    ],
)
def test_a_price_that_is_not_a_positive_whole_number_of_fen_is_refused_naming_the_field(price_fen: Any) -> None:
    assert locs(refused(order_body(price_fen=price_fen))) == [("price_fen",)]


def test_a_float_price_is_refused_from_json_too() -> None:
    json = Order.model_validate(order_body()).model_dump_json().replace('"price_fen":8990000', '"price_fen":8990000.0')
    with pytest.raises(ValidationError) as err:
        Order.model_validate_json(json)
    assert locs(err) == [("price_fen",)]


@pytest.mark.parametrize("down_payment_fen", [-1, 2_697_000.0, "2697000", 1.5])
def test_a_down_payment_that_is_not_a_whole_number_of_fen_is_refused_naming_the_field(down_payment_fen: Any) -> None:
    body = order_body(FinancingPlan.LOAN)
    body["loan"]["down_payment_fen"] = down_payment_fen
    assert locs(refused(body)) == [("loan", "down_payment_fen")]


def test_a_numeric_string_term_is_refused() -> None:
    body = order_body(FinancingPlan.LOAN)
    body["loan"]["term_months"] = "36"
    assert locs(refused(body)) == [("loan", "term_months")]


# --- shape -----------------------------------------------------------------------------------------------------


def test_an_unknown_field_on_the_order_is_refused() -> None:
    err = refused(order_body(discount_fen=100_000))
    assert [(e["loc"], e["type"]) for e in err.value.errors()] == [(("discount_fen",), "extra_forbidden")]


def test_an_unknown_field_on_the_customer_is_refused() -> None:
    body = order_body()
    body["customer"]["vip"] = True
    assert [(e["loc"], e["type"]) for e in refused(body).value.errors()] == [(("customer", "vip"), "extra_forbidden")]


def test_an_unknown_field_on_the_loan_terms_is_refused() -> None:
    body = order_body(FinancingPlan.LOAN)
    body["loan"]["rate_bp"] = 0
    assert [(e["loc"], e["type"]) for e in refused(body).value.errors()] == [(("loan", "rate_bp"), "extra_forbidden")]


@pytest.mark.parametrize(
    "field", ["order_id", "customer", "model", "trim", "colour", "city", "mode", "financing_plan", "price_fen"]
)
def test_an_order_missing_a_required_field_is_refused_naming_it(field: str) -> None:
    body = order_body()
    del body[field]
    assert (field,) in locs(refused(body))


def test_commercial_insurance_is_chosen_unless_declined() -> None:
    body = order_body()
    del body["commercial_insurance"]
    assert Order.model_validate(body).commercial_insurance is True


@pytest.mark.parametrize("order_id", ["AB", "-ORD-1", "ORD 1", "ORD/1", "订单-0001", "A" * 65, "ORD-1\n"])
def test_an_order_id_that_cannot_be_an_idempotency_key_is_refused(order_id: str) -> None:
    assert locs(refused(order_body(order_id=order_id))) == [("order_id",)]


@pytest.mark.parametrize("order_id", ["ABC", "ord_2026-11-11_000001", "A" * 64])
def test_an_order_id_of_three_to_sixty_four_safe_characters_is_accepted(order_id: str) -> None:
    assert Order.model_validate(order_body(order_id=order_id)).order_id == order_id


@pytest.mark.parametrize("field", ["model", "trim", "colour", "city"])
def test_an_empty_text_field_is_refused_naming_it(field: str) -> None:
    emptied: dict[str, Any] = {field: ""}
    assert locs(refused(order_body(**emptied))) == [(field,)]


def test_an_unknown_mode_or_plan_is_refused_naming_it() -> None:
    assert ("mode",) in locs(refused(order_body(mode="lease")))
    assert ("financing_plan",) in locs(refused(order_body(financing_plan="credit")))


def test_every_problem_of_an_order_is_reported_at_once() -> None:
    body = order_body(price_fen="8990000", colour="")
    body["customer"]["phone"] = "123"
    assert sorted(locs(refused(body))) == [("colour",), ("customer", "phone"), ("price_fen",)]


def test_an_accepted_order_cannot_be_changed() -> None:
    order = Order.model_validate(order_body())
    with pytest.raises(ValidationError):
        order.price_fen = 1  # type: ignore[misc]
