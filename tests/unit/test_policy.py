"""PurchasePolicy: the defaults of domain.md, and scaling every duration for the dev stack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from carbuy.domain.policy import DEADLINE_FIELDS, SCHEDULE_FIELDS, PurchasePolicy

DAY = timedelta(days=1)


def test_the_default_windows_and_slas_are_those_of_the_domain() -> None:
    policy = PurchasePolicy()
    assert policy.deposit_window == timedelta(minutes=30)
    assert policy.lock_window == 7 * DAY
    assert policy.loan_decision_sla == 2 * DAY
    assert policy.allocation_sla == 14 * DAY
    assert policy.logistics_sla == 10 * DAY
    assert policy.balance_window == 5 * DAY
    assert policy.registration_sla == 5 * DAY
    assert policy.handover_window == 7 * DAY
    assert policy.first_service_due == 90 * DAY
    assert policy.first_service_reminder == 7 * DAY
    assert policy.first_service_deadline == 180 * DAY


def test_the_default_money_rules_are_those_of_the_domain() -> None:
    policy = PurchasePolicy()
    assert policy.deposit_fen == 10_000  # 100 CNY
    assert policy.cancellation_fee_fen == 10_000  # 100 CNY kept after lock
    assert policy.plate_fee_fen == 50_000  # 500 CNY
    assert policy.compulsory_premium_fen == 95_000  # about 950 CNY a year
    assert policy.min_down_payment_bp == 1_500  # 15%


def test_every_duration_of_the_policy_is_either_a_deadline_or_a_schedule() -> None:
    durations = {name for name, value in PurchasePolicy() if isinstance(value, timedelta)}
    assert durations == set(DEADLINE_FIELDS) | set(SCHEDULE_FIELDS)
    assert not set(DEADLINE_FIELDS) & set(SCHEDULE_FIELDS)


def test_scaling_a_day_to_a_minute_scales_every_duration() -> None:
    scaled = PurchasePolicy().scaled(1 / 1440)
    assert scaled.deposit_window == timedelta(seconds=1.25)  # 30 min / 1440
    assert scaled.lock_window == timedelta(minutes=7)
    assert scaled.loan_decision_sla == timedelta(minutes=2)
    assert scaled.allocation_sla == timedelta(minutes=14)
    assert scaled.logistics_sla == timedelta(minutes=10)
    assert scaled.balance_window == timedelta(minutes=5)
    assert scaled.registration_sla == timedelta(minutes=5)
    assert scaled.handover_window == timedelta(minutes=7)
    assert scaled.first_service_due == timedelta(minutes=90)
    assert scaled.first_service_reminder == timedelta(minutes=7)
    assert scaled.first_service_deadline == timedelta(minutes=180)


def test_a_scaled_deadline_is_never_shorter_than_the_floor() -> None:
    # factor 1e-6: 30 min -> 1.8 ms, 7 days -> 0.6048 s, 180 days -> 15.552 s; floor 5 s.
    scaled = PurchasePolicy().scaled(1e-6, floor=timedelta(seconds=5))
    assert scaled.deposit_window == timedelta(seconds=5)
    assert scaled.lock_window == timedelta(seconds=5)
    assert scaled.loan_decision_sla == timedelta(seconds=5)
    assert scaled.first_service_deadline == timedelta(seconds=15.552)  # already above the floor
    for name in DEADLINE_FIELDS:
        assert getattr(scaled, name) >= timedelta(seconds=5), name


def test_a_scaled_schedule_is_not_raised_to_the_floor() -> None:
    # first service due 90 days -> 7.776 s, reminder 7 days -> 0.6048 s: both below the 10 s floor, kept as scaled.
    scaled = PurchasePolicy().scaled(1e-6, floor=timedelta(seconds=10))
    assert scaled.first_service_due == timedelta(seconds=7.776)
    assert scaled.first_service_reminder == timedelta(seconds=0.6048)


def test_the_reminder_stays_before_the_service_is_due_and_the_deadline_after_it_when_scaled() -> None:
    scaled = PurchasePolicy().scaled(1e-6, floor=timedelta(seconds=30))
    assert scaled.first_service_reminder < scaled.first_service_due <= scaled.first_service_deadline


def test_scaling_keeps_the_money_rules() -> None:
    policy = PurchasePolicy(deposit_fen=20_000, plate_fee_fen=0)
    scaled = policy.scaled(0.001)
    for name in (
        "deposit_fen",
        "cancellation_fee_fen",
        "plate_fee_fen",
        "compulsory_premium_fen",
        "min_down_payment_bp",
    ):
        assert getattr(scaled, name) == getattr(policy, name), name


def test_scaling_by_one_changes_nothing() -> None:
    assert PurchasePolicy().scaled(1) == PurchasePolicy()


def test_scaling_returns_a_new_policy_and_leaves_the_original_alone() -> None:
    policy = PurchasePolicy()
    policy.scaled(0.5)
    assert policy == PurchasePolicy()


def test_a_policy_cannot_be_changed_in_place() -> None:
    with pytest.raises(ValidationError):
        PurchasePolicy().deposit_fen = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("deposit_fen", 0),
        ("cancellation_fee_fen", -1),
        ("plate_fee_fen", -1),
        ("compulsory_premium_fen", -1),
        ("min_down_payment_bp", -1),
        ("min_down_payment_bp", 10_001),
    ],
)
def test_a_policy_with_an_impossible_money_rule_is_refused_naming_the_field(field: str, value: int) -> None:
    with pytest.raises(ValidationError) as err:
        PurchasePolicy(**{field: value})
    assert [e["loc"] for e in err.value.errors()] == [(field,)]
