"""POST /orders: the platform's backend places an order and gets its purchase id at once."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response, status
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from carbuy.contract.ops import initial_search_attributes, static_details
from carbuy.contract.order import Order
from carbuy.contract.public import public
from carbuy.contract.purchase import WORKFLOW_NAME, purchase_workflow_id
from carbuy.domain.catalogue import DEFAULT_CATALOGUE
from carbuy.domain.money import market_date
from observability.metrics import order_placed
from starter.deps import BackendAuth, ClientDep, SettingsDep
from starter.errors import PurchaseProblem, rejected_order
from starter.orders import OrderRejected, prepare_purchase
from starter.schemas import UNAUTHORIZED, OrderAccepted, Problem

router = APIRouter(tags=["orders"], dependencies=[BackendAuth], responses=UNAUTHORIZED)

DIGEST_MEMO = "order_digest"


@router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": OrderAccepted, "description": "the same order had been placed before: the same purchase"},
        409: {"model": Problem, "description": "this order id was used for a different order"},
        503: {"model": Problem, "description": "Temporal is unreachable: nothing was started, try again"},
        422: {"description": "invalid order: every field error is listed"},
    },
)
async def place_order(order: Order, response: Response, client: ClientDep, settings: SettingsDep) -> OrderAccepted:
    """Validate and price the order, then start its purchase; the same order again returns the same purchase."""
    try:
        input = prepare_purchase(
            order,
            catalogue=DEFAULT_CATALOGUE,
            policy=settings.purchase.policy(),
            digest_key=settings.api.order_digest_key,
            on=market_date(datetime.now(UTC)),
        )
    except OrderRejected as err:
        raise rejected_order(err) from None
    workflow_id = purchase_workflow_id(order.order_id)
    accepted = OrderAccepted(
        purchase_id=workflow_id, order_id=order.order_id, created=True, status_url=f"/purchases/{order.order_id}"
    )
    try:
        await client.start_workflow(
            WORKFLOW_NAME,
            input,
            id=workflow_id,
            task_queue=settings.temporal.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            memo={DIGEST_MEMO: public(input.order_digest)},
            search_attributes=initial_search_attributes(order),
            static_summary=public(f"order {order.order_id}: {order.model}, {order.financing_plan.value}, {order.city}"),
            static_details=public(static_details(order)),
        )
    except WorkflowAlreadyStartedError:
        description = await client.get_workflow_handle(workflow_id).describe()
        if await description.memo_value(DIGEST_MEMO, default=None) != input.order_digest:
            raise PurchaseProblem(
                status.HTTP_409_CONFLICT, f"order id {order.order_id!r} was already used for a different order"
            ) from None
        response.status_code = status.HTTP_200_OK
        return accepted.model_copy(update={"created": False})
    except RPCError as err:
        raise PurchaseProblem(status.HTTP_503_SERVICE_UNAVAILABLE, f"Temporal unavailable: {err.message}") from err
    order_placed(order.financing_plan.value)
    return accepted
