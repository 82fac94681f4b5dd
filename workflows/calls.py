"""How the purchase calls activities: by contract name, with one retry policy and typed results."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

from workflows.patches import LEAN_HISTORY

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import Activity
    from carbuy.contract.public import public
    from carbuy.contract.purchase import ErrorType

R = TypeVar("R", bound=BaseModel)

NON_RETRYABLE = [
    ErrorType.PAYMENT_DECLINED.value,
    ErrorType.PARTNER_REFUSED.value,
    ErrorType.PARTNER_CONFLICT.value,
    ErrorType.PARTNER_REJECTED_REQUEST.value,
]
PARTNER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    non_retryable_error_types=NON_RETRYABLE,
)
"""Forward steps: a partner that is down is waited for (the pending activity shows in the UI)."""

UNDO_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
    non_retryable_error_types=NON_RETRYABLE,
)
"""Undos: bounded (about 6 minutes), so one failing undo cannot keep the others from running."""

NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    maximum_interval=timedelta(seconds=10),
    maximum_attempts=5,
)
"""Notifications: a few tries, then the purchase goes on without them."""

START_TO_CLOSE = timedelta(seconds=30)

HEARTBEAT_TIMEOUT = timedelta(seconds=3)
"""The worker beats for every activity it runs (activities/heartbeat.py): an attempt held by a killed worker
is timed out after this, not after the whole START_TO_CLOSE, and retried a second later (PARTNER_RETRY)."""


async def call(
    activity: Activity, arg: BaseModel, result_type: type[R], *, summary: str, retry: RetryPolicy = PARTNER_RETRY
) -> R:
    """Run one activity to completion; transport faults are retried by the policy, refusals raise."""
    result: R = await workflow.execute_activity(
        activity.value,
        arg,
        result_type=result_type,
        start_to_close_timeout=START_TO_CLOSE,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        retry_policy=retry,
        summary=public(summary),
    )
    return result


def refusal(error: BaseException) -> ApplicationError | None:
    """The business refusal (non-retryable ApplicationError) inside an activity failure, if that is what it is."""
    cause = error.cause if isinstance(error, ActivityError) else None
    if isinstance(cause, ApplicationError) and cause.type in NON_RETRYABLE:
        return cause
    return None


BOOKKEEPING_FAILED = (ActivityError, ApplicationError, TimeoutError)
"""What a failed bookkeeping step raises: an activity's failure comes as ActivityError, a local activity's as
the failure itself (ApplicationError, or TimeoutError past its start-to-close timeout)."""


async def bookkeep(activity: Activity, arg: BaseModel, result_type: type[R], *, summary: str, retry: RetryPolicy) -> R:
    """Run a step that only writes to carbuy's own database (outbox, outcome) as a local activity.

    It needs no task queue round trip: one marker event instead of six (the activity's three and the workflow
    task its completion wakes). Its key makes a retry or a replayed marker-less attempt harmless.
    """
    if not workflow.patched(LEAN_HISTORY):
        return await call(activity, arg, result_type, summary=summary, retry=retry)
    result: R = await workflow.execute_local_activity(
        activity.value,
        arg,
        result_type=result_type,
        start_to_close_timeout=START_TO_CLOSE,
        retry_policy=retry,
        # a retry after more than a second waits on a durable timer, not inside a held-open workflow task
        local_retry_threshold=timedelta(seconds=1),
        summary=public(summary),
    )
    return result
