"""The route class of every partner endpoint: latency, faults, idempotency by key, request records."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Coroutine
from itertools import islice
from typing import Annotated, Any

from fastapi import Header, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from sandbox.callbacks import CallbackDispatcher
from sandbox.errors import Conflict, PartnerError
from sandbox.state import IdempotentAnswer, RequestRecord, SandboxState, now

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
STORED_STATUSES = range(200, 300), (422,)

IdempotencyKey = Annotated[
    str,
    Header(
        alias=IDEMPOTENCY_HEADER,
        min_length=1,
        max_length=200,
        description="Same key and same body: the same answer again. Same key, another body: 409.",
    ),
]

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def error_response(error: PartnerError) -> JSONResponse:
    """The JSON response of a partner error."""
    return JSONResponse(error.body().model_dump(), status_code=error.status_code)


def _fingerprint(request: Request, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(f"{request.method} {request.url.path}\n".encode() + canonical).hexdigest()


def _order_ref(body: bytes) -> str | None:
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    ref = parsed.get("order_ref") if isinstance(parsed, dict) else None
    return ref if isinstance(ref, str) and ref else None


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


class PartnerRoute(APIRoute):
    """An institution's endpoint: POSTs are serialised under the state lock and idempotent by key.

    A replayed POST (same key, same body) gets the stored answer, and the callbacks about what the first request
    created that were lost, and the latest one, are sent again (see CallbackDispatcher.resend): a client that
    retries gets a lost answer. Injected faults (sandbox.faults) fail, delay or hold the answer.
    """

    def get_route_handler(self) -> Handler:
        """Wrap FastAPI's handler with the sandbox's partner behaviour."""
        handle = super().get_route_handler()
        institution = self.path.strip("/").split("/", 1)[0]

        async def route_handler(request: Request) -> Response:
            state: SandboxState = request.app.state.sandbox
            if state.config.latency_ms:
                await asyncio.sleep(state.config.latency_ms / 1000)
            plan = state.faults.plan_request(institution)
            if plan.fail_with is not None:
                error = PartnerError("injected_fault", f"{institution} is unavailable (injected)")
                error.status_code = plan.fail_with
                return error_response(error)
            if plan.delay_s:
                await asyncio.sleep(plan.delay_s)
            if request.method != "POST":
                response = await _run(handle, request)
            else:
                async with state.lock:
                    response = await _keyed(state, institution, handle, request)
            if plan.hold_s:
                # The work is done and its answer stored; only this client waits, not the requests behind the lock.
                await asyncio.sleep(plan.hold_s)
            return response

        return route_handler


async def _run(handle: Handler, request: Request) -> Response:
    try:
        return await handle(request)
    except PartnerError as error:
        return error_response(error)


async def _keyed(state: SandboxState, institution: str, handle: Handler, request: Request) -> Response:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    body = await request.body()
    if not key:
        return await _run(handle, request)  # FastAPI refuses it: the header is a required parameter
    fingerprint = _fingerprint(request, body)
    answer = state.answers.get((institution, key))
    if answer is not None:
        if answer.fingerprint != fingerprint:
            return error_response(
                Conflict("idempotency_key_reused", f"{IDEMPOTENCY_HEADER} {key} was used with another request")
            )
        answer.record.replays += 1
        order_ref = _order_ref(body)
        if order_ref is not None:
            dispatcher: CallbackDispatcher = request.app.state.dispatcher
            dispatcher.resend(order_ref, answer.record.references)
        return Response(
            answer.body, status_code=answer.status_code, media_type="application/json", headers={REPLAY_HEADER: "true"}
        )
    known = len(state.objects)
    response = await _run(handle, request)
    # POSTs run one at a time under the lock, so the objects added since are this request's (newest last).
    created = list(islice(reversed(state.objects), len(state.objects) - known))[::-1]
    order_ref = _order_ref(body)
    if order_ref is None or not _stored(response.status_code):
        return response
    record = RequestRecord(
        at=now(),
        institution=institution,
        method=request.method,
        path=request.url.path,
        idempotency_key=key,
        status_code=response.status_code,
        response=_json_or_none(bytes(response.body)),
        references=[*created, *_objects_in_path(request)],
    )
    state.order(order_ref).requests.append(record)
    state.answers[(institution, key)] = IdempotentAnswer(
        fingerprint=fingerprint, status_code=response.status_code, body=bytes(response.body), record=record
    )
    return response


def _objects_in_path(request: Request) -> list[str]:
    """The existing objects a request acts on (`/applications/{application_id}/documents`): a replay of it
    re-sends their lost callbacks too, as the request that created them does."""
    return [str(value) for name, value in request.path_params.items() if name.endswith("_id")]


def _stored(status_code: int) -> bool:
    return any(status_code in statuses for statuses in STORED_STATUSES)
