"""Finding stuck purchases: the visibility query built from ops' filters, and one row per purchase found."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field
from temporalio.client import WorkflowExecution

from carbuy.contract.ops import (
    CITY_KEY,
    DELIVERY_CENTER_KEY,
    FINANCING_PLAN_KEY,
    STUCK_QUERY,
    STUCK_SINCE_KEY,
    VEHICLE_MODEL_KEY,
)
from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import STAGE_KEY, STATE_KEY, WORKFLOW_ID_PREFIX, PurchaseStage

SAFE_VALUE = r"^[\w][\w .-]{0,63}$"
"""Letters (any script), digits, space, dot, dash and underscore: nothing that can end a quoted literal."""
_SAFE = re.compile(SAFE_VALUE)

FilterValue = Annotated[str, Field(pattern=SAFE_VALUE, description="letters, digits, space, '.', '-', '_'")]


class StuckFilter(BaseModel):
    """Ops' filters on the stuck purchases (all optional, combined with AND)."""

    city: FilterValue | None = None
    stage: PurchaseStage | None = None
    delivery_centre: FilterValue | None = None
    plan: FinancingPlan | None = None


def quoted(value: str) -> str:
    """A visibility-query string literal; a value that could break out of it is refused, never escaped."""
    if not _SAFE.match(value):
        raise ValueError(f"not allowed in a visibility query: {value!r}")
    return f"'{value}'"


def stuck_query(filters: StuckFilter) -> str:
    """STUCK_QUERY narrowed by the filters given."""
    clauses = [STUCK_QUERY]
    wanted = {
        CITY_KEY.name: filters.city,
        STAGE_KEY.name: filters.stage,
        DELIVERY_CENTER_KEY.name: filters.delivery_centre,
        FINANCING_PLAN_KEY.name: filters.plan,
    }
    clauses += [f"{name} = {quoted(str(value))}" for name, value in wanted.items() if value is not None]
    return " AND ".join(clauses)


class StuckPurchase(BaseModel):
    """A purchase that needs a person, as visibility knows it (eventually consistent: read the truth by id)."""

    workflow_id: str
    order_id: str
    stage: str | None = None
    state: str | None = None
    stuck_since: datetime | None = None
    city: str | None = None
    delivery_centre: str | None = None
    plan: str | None = None
    model: str | None = None


class StuckPurchases(BaseModel):
    """The stuck purchases found, the longest stuck first, and the query that found them."""

    query: str
    purchases: list[StuckPurchase]


def stuck_purchase(execution: WorkflowExecution) -> StuckPurchase:
    """One listed workflow as a row."""
    attributes = execution.typed_search_attributes
    return StuckPurchase(
        workflow_id=execution.id,
        order_id=execution.id.removeprefix(WORKFLOW_ID_PREFIX),
        stage=attributes.get(STAGE_KEY),
        state=attributes.get(STATE_KEY),
        stuck_since=attributes.get(STUCK_SINCE_KEY),
        city=attributes.get(CITY_KEY),
        delivery_centre=attributes.get(DELIVERY_CENTER_KEY),
        plan=attributes.get(FINANCING_PLAN_KEY),
        model=attributes.get(VEHICLE_MODEL_KEY),
    )


def longest_stuck_first(purchases: list[StuckPurchase]) -> list[StuckPurchase]:
    """Sorted by StuckSince, oldest first (visibility on SQL stores cannot ORDER BY a custom attribute)."""
    return sorted(purchases, key=lambda p: (p.stuck_since is None, p.stuck_since or datetime.max, p.workflow_id))
