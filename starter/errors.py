"""Where Temporal's errors become HTTP answers: one place for the whole API."""

from __future__ import annotations

from typing import NoReturn, TypeVar

from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from carbuy.contract.purchase import STAGE_KEY, ErrorType, purchase_workflow_id
from starter.orders import OrderRejected

R = TypeVar("R", bound=BaseModel)

_STATUS_OF_TYPE = {
    ErrorType.WRONG_STAGE.value: status.HTTP_409_CONFLICT,
    ErrorType.INVALID_ACTION.value: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


class PurchaseProblem(HTTPException):
    """An HTTP error that also tells the purchase's stage."""

    def __init__(self, status_code: int, detail: str, stage: str | None = None) -> None:
        super().__init__(status_code, detail)
        self.stage = stage


def not_found(order_id: str) -> PurchaseProblem:
    """No purchase for this order id."""
    return PurchaseProblem(status.HTTP_404_NOT_FOUND, f"no purchase for order {order_id!r}")


async def raise_for(err: Exception, order_id: str, client: Client) -> NoReturn:
    """Turn an error from a Temporal call about one purchase into the HTTP error it means."""
    if isinstance(err, WorkflowUpdateFailedError) and isinstance(err.cause, ApplicationError):
        cause = err.cause
        code = _STATUS_OF_TYPE.get(cause.type or "", status.HTTP_409_CONFLICT)
        details = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        raise PurchaseProblem(code, cause.message, details.get("stage")) from err
    if isinstance(err, RPCError):
        if err.status == RPCStatusCode.NOT_FOUND and "not found" in err.message.lower():
            raise not_found(order_id) from err
        if err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            stage = await _closed_stage(client, order_id)
            raise PurchaseProblem(status.HTTP_409_CONFLICT, f"the purchase is closed: {err.message}", stage) from err
        raise PurchaseProblem(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal unavailable: {err.message}") from err
    if isinstance(err, WorkflowQueryFailedError):
        raise PurchaseProblem(status.HTTP_503_SERVICE_UNAVAILABLE, f"status unavailable: {err}") from err
    raise err


async def _closed_stage(client: Client, order_id: str) -> str | None:
    """The last stage a closed purchase published (its PurchaseStage search attribute)."""
    try:
        description = await client.get_workflow_handle(purchase_workflow_id(order_id)).describe()
    except RPCError:
        return None
    return description.typed_search_attributes.get(STAGE_KEY)


def rejected_order(err: OrderRejected) -> RequestValidationError:
    """An order the catalogue refuses, reported in the same shape as pydantic's field errors (422)."""
    return RequestValidationError(
        [
            {"type": "value_error", "loc": ("body", *field.split(".")), "msg": message, "input": None}
            for field, message in err.errors
        ]
    )


async def execute_update(client: Client, order_id: str, update: str, arg: BaseModel, result_type: type[R]) -> R:
    """Run an update of one purchase; a refusal or a Temporal error becomes the HTTP error it means."""
    handle = client.get_workflow_handle(purchase_workflow_id(order_id))
    try:
        result: R = await handle.execute_update(update, arg, result_type=result_type)
        return result
    except Exception as err:
        await raise_for(err, order_id, client)
