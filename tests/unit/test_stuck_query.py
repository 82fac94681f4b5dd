"""The stuck-purchase query: ops' filters narrow STUCK_QUERY and can never add query syntax of their own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from carbuy.contract.ops import STUCK_QUERY
from starter.stuck import StuckFilter, StuckPurchase, longest_stuck_first, quoted, stuck_query

INJECTIONS = [
    "Guangzhou' OR NeedsAttention = false OR City = 'x",
    'Guangzhou" OR 1=1',
    "Guangzhou\\",
    "Guangzhou AND WorkflowType = 'X'",
    "",
    " leading-space",
    "x" * 65,
]


def test_without_filters_the_query_is_every_purchase_that_needs_attention() -> None:
    assert stuck_query(StuckFilter()) == STUCK_QUERY


def test_each_filter_adds_one_equality_on_its_search_attribute() -> None:
    query = stuck_query(
        StuckFilter.model_validate(
            {"city": "Guangzhou", "stage": "financing", "delivery_centre": "NGC-Guangzhou-Tianhe", "plan": "loan"}
        )
    )

    assert query == (
        f"{STUCK_QUERY} AND City = 'Guangzhou' AND PurchaseStage = 'financing'"
        " AND DeliveryCenter = 'NGC-Guangzhou-Tianhe' AND FinancingPlan = 'loan'"
    )


def test_a_city_in_chinese_characters_is_a_valid_filter() -> None:
    assert stuck_query(StuckFilter(city="广州")).endswith("AND City = '广州'")


@pytest.mark.parametrize("value", INJECTIONS)
def test_a_filter_value_that_could_change_the_query_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        StuckFilter(city=value)
    with pytest.raises(ValidationError):
        StuckFilter(delivery_centre=value)
    with pytest.raises(ValueError, match="not allowed"):
        quoted(value)


@pytest.mark.parametrize("field,value", [("stage", "financing' OR 'a'='a"), ("plan", "lease_to_own")])
def test_stage_and_plan_must_be_known_values(field: str, value: str) -> None:
    with pytest.raises(ValidationError):
        StuckFilter.model_validate({field: value})


def test_the_longest_stuck_purchase_comes_first_and_those_without_a_time_last() -> None:
    def row(workflow_id: str, hour: int | None) -> StuckPurchase:
        since = None if hour is None else datetime(2026, 11, 20, hour, tzinfo=UTC)
        return StuckPurchase(workflow_id=workflow_id, order_id=workflow_id, stuck_since=since)

    ordered = longest_stuck_first([row("c", None), row("b", 12), row("a", 9), row("d", 12)])

    assert [p.workflow_id for p in ordered] == ["a", "b", "d", "c"]
