"""A purchase's status and the customer's actions, relayed by the platform's backend."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowQueryRejectedError
from temporalio.common import QueryRejectCondition

from carbuy.contract.purchase import (
    ActionResult,
    CancelInput,
    HandoverInput,
    LoanDocumentsInput,
    LockInput,
    PayInput,
    PurchaseResult,
    PurchaseStatus,
    Query,
    SwitchToFullPaymentInput,
    Update,
    purchase_workflow_id,
)
from starter.deps import BackendAuth, ClientDep
from starter.errors import execute_update, raise_for
from starter.schemas import CONFLICT, NOT_FOUND, UNAUTHORIZED, Responses

router = APIRouter(
    prefix="/purchases", tags=["purchases"], dependencies=[BackendAuth], responses={**UNAUTHORIZED, **NOT_FOUND}
)
ACTION_RESPONSES: Responses = {
    **CONFLICT,
    422: {"description": "invalid action body, or an action the purchase cannot take"},
}


@router.get("/{order_id}")
async def get_purchase(order_id: str, client: ClientDep) -> PurchaseStatus:
    """Stage, every parallel branch, amounts, what it waits for, and a timeline."""
    handle = client.get_workflow_handle(purchase_workflow_id(order_id), result_type=PurchaseResult)
    try:
        return await _status(handle)
    except Exception as err:
        await raise_for(err, order_id, client)


async def _status(handle: WorkflowHandle[Any, PurchaseResult]) -> PurchaseStatus:
    """An open purchase answers from the worker's cache; the server refuses the query of a closed one, whose final
    status is in its result, instead of having a worker replay its whole history."""
    try:
        status: PurchaseStatus = await handle.query(
            Query.STATUS.value, result_type=PurchaseStatus, reject_condition=QueryRejectCondition.NOT_OPEN
        )
        return status
    except WorkflowQueryRejectedError:
        final = await _final_status(handle)
        return final or await handle.query(Query.STATUS.value, result_type=PurchaseStatus)


async def _final_status(handle: WorkflowHandle[Any, PurchaseResult]) -> PurchaseStatus | None:
    """A closed purchase's final status, from its result (None: it ended without one, e.g. terminated)."""
    try:
        return (await handle.result(follow_runs=False)).status
    except WorkflowFailureError:
        return None


async def _act(client: Client, order_id: str, update: Update, arg: BaseModel) -> ActionResult:
    return await execute_update(client, order_id, update.value, arg, ActionResult)


@router.post("/{order_id}/deposit", responses=ACTION_RESPONSES)
async def pay_deposit(order_id: str, body: PayInput, client: ClientDep) -> ActionResult:
    """Pay the deposit with a payment method from the front end; answers paid or declined."""
    return await _act(client, order_id, Update.PAY_DEPOSIT, body)


@router.post("/{order_id}/lock", responses=ACTION_RESPONSES)
async def lock(order_id: str, body: LockInput, client: ClientDep) -> ActionResult:
    """Lock trim, colour, delivery centre and financing plan."""
    return await _act(client, order_id, Update.LOCK, body)


@router.post("/{order_id}/loan-documents", responses=ACTION_RESPONSES)
async def upload_loan_documents(order_id: str, body: LoanDocumentsInput, client: ClientDep) -> ActionResult:
    """Upload the documents the lender asked for; the lender then decides."""
    return await _act(client, order_id, Update.UPLOAD_LOAN_DOCUMENTS, body)


@router.post("/{order_id}/switch-to-full-payment", responses=ACTION_RESPONSES)
async def switch_to_full_payment(order_id: str, body: SwitchToFullPaymentInput, client: ClientDep) -> ActionResult:
    """After the lender refused the loan: pay the whole price instead (within the window)."""
    return await _act(client, order_id, Update.SWITCH_TO_FULL_PAYMENT, body)


@router.post("/{order_id}/balance", responses=ACTION_RESPONSES)
async def pay_balance(order_id: str, body: PayInput, client: ClientDep) -> ActionResult:
    """Pay the balance once the car has arrived; answers paid or declined."""
    return await _act(client, order_id, Update.PAY_BALANCE, body)


@router.post("/{order_id}/handover", responses=ACTION_RESPONSES)
async def handover(order_id: str, body: HandoverInput, client: ClientDep) -> ActionResult:
    """Accept (or refuse, with a reason) the car at the delivery centre."""
    return await _act(client, order_id, Update.HANDOVER, body)


@router.post("/{order_id}/cancel", responses=ACTION_RESPONSES)
async def cancel(order_id: str, body: CancelInput, client: ClientDep) -> ActionResult:
    """Cancel the purchase before handover; what was done is undone with the stage's fee rules."""
    return await _act(client, order_id, Update.CANCEL, body)
