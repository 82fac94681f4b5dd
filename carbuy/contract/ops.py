"""Ops staff's side of a purchase: the search attributes they filter on and the updates they act with.

Every ops update carries the operator's name and a reason, which stay in the workflow's history; each has a
validator, so an action that does not fit the purchase's stage or data is refused before it reaches history.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from pydantic import BaseModel, Field
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from carbuy.contract.order import Order
from carbuy.contract.purchase import STAGE_KEY, STATE_KEY, PurchaseStage, PurchaseState
from carbuy.contract.purchase import Attention as Attention  # re-exported: part of the status query
from carbuy.contract.purchase import FailedUndo as FailedUndo
from carbuy.contract.undo import UndoKind

NEEDS_ATTENTION_KEY = SearchAttributeKey.for_bool("NeedsAttention")
STUCK_SINCE_KEY = SearchAttributeKey.for_datetime("StuckSince")
CITY_KEY = SearchAttributeKey.for_keyword("City")
DELIVERY_CENTER_KEY = SearchAttributeKey.for_keyword("DeliveryCenter")
VEHICLE_MODEL_KEY = SearchAttributeKey.for_keyword("VehicleModel")
FINANCING_PLAN_KEY = SearchAttributeKey.for_keyword("FinancingPlan")

STUCK_QUERY = "WorkflowType = 'PurchaseWorkflow' AND NeedsAttention = true"
"""The visibility query that lists every purchase a person must look at."""


class OpsUpdate(StrEnum):
    """Update names of ops actions."""

    RETRY = "ops_retry"
    CORRECT_REGISTRATION = "ops_correct_registration"
    CHANGE_DELIVERY_CENTRE = "ops_change_delivery_centre"
    EXTEND_DEADLINE = "ops_extend_deadline"
    CANCEL = "ops_cancel"
    RESOLVE_UNDO = "ops_resolve_undo"


class OpsInput(BaseModel):
    """Who acts and why: both stay in the purchase's history."""

    operator: str = Field(min_length=2, max_length=64, pattern=r"^[\w.@-]+$", description="the operator's login")
    reason: str = Field(min_length=3, max_length=500)


class RetryInput(OpsInput):
    """Ask the partners the purchase waits on again (their requests are re-sent under the same keys), or run
    the undos that failed again; the SLA clock of each wait restarts."""


class CorrectRegistrationInput(OpsInput):
    """Resubmit a rejected plate registration with corrected owner data."""

    owner_name: str = Field(min_length=1, max_length=64)
    owner_id_number: str = Field(pattern=r"^\d{17}[\dX]$")


class ChangeDeliveryCentreInput(OpsInput):
    """Deliver to another delivery centre (only before the shipment is booked)."""

    delivery_centre: str = Field(min_length=1, max_length=64)


class ExtendDeadlineInput(OpsInput):
    """Push back every deadline the purchase is waiting on now."""

    extend_by: timedelta = Field(gt=timedelta(0), le=timedelta(days=60))


class OpsCancelInput(OpsInput):
    """Cancel the purchase with compensation; the fee is waived unless ops say the customer owes it."""

    waive_fee: bool = True


class ResolveUndoInput(OpsInput):
    """An undo that kept failing was done by hand: record the external reference of what was done."""

    undo: UndoKind = Field(description="the undo's kind, e.g. refund_deposit")
    reference: str = Field(description="the partner reference the undo was about (as shown in the status)")
    external_reference: str = Field(min_length=1, max_length=200, description="e.g. the manual refund's id")


class OpsResult(BaseModel):
    """What an ops action did."""

    accepted: bool
    stage: PurchaseStage
    state: PurchaseState
    message: str


def initial_search_attributes(order: Order) -> TypedSearchAttributes:
    """What a purchase is found by from its first moment (set at start, so it costs no upsert)."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(STAGE_KEY, PurchaseStage.DEPOSIT.value),
            SearchAttributePair(STATE_KEY, PurchaseState.ACTIVE.value),
            SearchAttributePair(NEEDS_ATTENTION_KEY, False),
            SearchAttributePair(CITY_KEY, order.city),
            SearchAttributePair(VEHICLE_MODEL_KEY, order.model),
            SearchAttributePair(FINANCING_PLAN_KEY, order.financing_plan.value),
        ]
    )


def static_details(order: Order) -> str:
    """The fixed part of what the Web UI shows about a purchase (no personal data)."""
    loan = f", loan over {order.loan.term_months} months" if order.loan else ""
    return (
        f"**Order** {order.order_id} · **model** {order.model} {order.trim} ({order.colour}) · "
        f"**mode** {order.mode.value} · **plan** {order.financing_plan.value}{loan} · **city** {order.city}"
    )
