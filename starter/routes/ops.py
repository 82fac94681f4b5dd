"""Ops staff: find the purchases that need a person, read why, and act on them through the workflow's updates."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from carbuy.contract.ops import (
    ChangeDeliveryCentreInput,
    CorrectRegistrationInput,
    ExtendDeadlineInput,
    OpsCancelInput,
    OpsInput,
    OpsResult,
    OpsUpdate,
    ResolveUndoInput,
    RetryInput,
)
from carbuy.contract.purchase import PurchaseStatus, purchase_workflow_id
from carbuy.contract.purchase import Query as StatusQuery
from starter.deps import ClientDep, OpsAuth
from starter.errors import PurchaseProblem, execute_update, raise_for
from starter.schemas import CONFLICT, NOT_FOUND, UNAUTHORIZED, Problem, Responses
from starter.stuck import StuckFilter, StuckPurchases, longest_stuck_first, stuck_purchase, stuck_query

METADATA_QUERY = "__temporal_workflow_metadata"
"""The built-in query behind the Web UI's "current details"."""

router = APIRouter(prefix="/ops", tags=["ops"], dependencies=[OpsAuth], responses={**UNAUTHORIZED})
UNAVAILABLE: Responses = {503: {"model": Problem, "description": "Temporal (or the purchase's worker) unavailable"}}
ACTION_RESPONSES: Responses = {
    **NOT_FOUND,
    **CONFLICT,
    **UNAVAILABLE,
    422: {
        "description": "invalid body (nothing is sent to the purchase), or an action the purchase's data refuses "
        "(InvalidAction)"
    },
}

SearchValue = str | bool | int | float | datetime | list[str] | None


class OpsPurchase(BaseModel):
    """One purchase as ops see it: the status query, and what Temporal shows in its UI."""

    workflow_id: str
    run_id: str | None
    execution_status: str = Field(description="RUNNING, COMPLETED, FAILED, ...")
    history_length: int
    summary: str | None = Field(description="the static summary shown in the UI's list")
    current_details: str | None = Field(description="the UI's current details: why it waits, since when")
    search_attributes: dict[str, SearchValue]
    status: PurchaseStatus


@router.get("/stuck", responses=UNAVAILABLE)
async def stuck(
    client: ClientDep,
    filters: Annotated[StuckFilter, Query()],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> StuckPurchases:
    """Every purchase with NeedsAttention, narrowed by city, stage, delivery centre and plan; longest stuck first."""
    query = stuck_query(filters)
    try:
        found = [stuck_purchase(execution) async for execution in client.list_workflows(query, limit=limit)]
    except RPCError as err:
        raise PurchaseProblem(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal unavailable: {err.message}") from err
    return StuckPurchases(query=query, purchases=longest_stuck_first(found))


@router.get("/purchases/{order_id}", responses={**NOT_FOUND, **UNAVAILABLE})
async def show(order_id: str, client: ClientDep) -> OpsPurchase:
    """The status query (with attention and failed undos), the UI's summary and current details, search attributes."""
    handle = client.get_workflow_handle(purchase_workflow_id(order_id))
    try:
        description = await handle.describe()
        purchase: PurchaseStatus = await handle.query(StatusQuery.STATUS.value, result_type=PurchaseStatus)
        details = await _current_details(handle)
    except Exception as err:
        await raise_for(err, order_id, client)
    return OpsPurchase(
        workflow_id=description.id,
        run_id=description.run_id,
        execution_status=description.status.name if description.status else "UNKNOWN",
        history_length=description.history_length,
        summary=await description.static_summary(),
        current_details=details,
        search_attributes={pair.key.name: pair.value for pair in description.typed_search_attributes},
        status=purchase,
    )


async def _current_details(handle: WorkflowHandle[object, object]) -> str | None:
    metadata: WorkflowMetadata = await handle.query(METADATA_QUERY, result_type=WorkflowMetadata)
    return metadata.current_details or None


async def _act(client: Client, order_id: str, update: OpsUpdate, body: OpsInput) -> OpsResult:
    return await execute_update(client, order_id, update.value, body, OpsResult)


@router.post("/purchases/{order_id}/retry", responses=ACTION_RESPONSES)
async def retry(order_id: str, body: RetryInput, client: ClientDep) -> OpsResult:
    """Send the partner requests the purchase waits on again (same keys), or run the failed undos again."""
    return await _act(client, order_id, OpsUpdate.RETRY, body)


@router.post("/purchases/{order_id}/correct-registration", responses=ACTION_RESPONSES)
async def correct_registration(order_id: str, body: CorrectRegistrationInput, client: ClientDep) -> OpsResult:
    """Resubmit a rejected plate registration with corrected owner data."""
    return await _act(client, order_id, OpsUpdate.CORRECT_REGISTRATION, body)


@router.post("/purchases/{order_id}/delivery-centre", responses=ACTION_RESPONSES)
async def change_delivery_centre(order_id: str, body: ChangeDeliveryCentreInput, client: ClientDep) -> OpsResult:
    """Deliver to another delivery centre (before the shipment is booked)."""
    return await _act(client, order_id, OpsUpdate.CHANGE_DELIVERY_CENTRE, body)


@router.post("/purchases/{order_id}/extend-deadline", responses=ACTION_RESPONSES)
async def extend_deadline(order_id: str, body: ExtendDeadlineInput, client: ClientDep) -> OpsResult:
    """Push back every deadline the purchase waits on now (`extend_by`: ISO 8601 duration or seconds)."""
    return await _act(client, order_id, OpsUpdate.EXTEND_DEADLINE, body)


@router.post("/purchases/{order_id}/cancel", responses=ACTION_RESPONSES)
async def cancel(order_id: str, body: OpsCancelInput, client: ClientDep) -> OpsResult:
    """Cancel with compensation; the cancellation fee is waived unless `waive_fee` is false."""
    return await _act(client, order_id, OpsUpdate.CANCEL, body)


@router.post("/purchases/{order_id}/resolve-undo", responses=ACTION_RESPONSES)
async def resolve_undo(order_id: str, body: ResolveUndoInput, client: ClientDep) -> OpsResult:
    """Record that a failed undo was done by hand (its external reference); the purchase closes when none is left."""
    return await _act(client, order_id, OpsUpdate.RESOLVE_UNDO, body)
