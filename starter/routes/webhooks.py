"""Signed callbacks from partner institutions, delivered to their purchase as signals."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import ValidationError

from carbuy.contract.events import PartnerCallback
from carbuy.contract.purchase import Signal, purchase_workflow_id
from carbuy.runtime.signing import SIGNATURE_HEADER, SignatureError, verify
from starter.deps import ClientDep, SettingsDep
from starter.errors import raise_for
from starter.schemas import NOT_FOUND, CallbackReceived, Problem

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post(
    "/partners",
    responses={400: {"model": Problem, "description": "bad signature or body; nothing was delivered"}, **NOT_FOUND},
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": PartnerCallback.model_json_schema()}}}},
)
async def partner_callback(request: Request, client: ClientDep, settings: SettingsDep) -> CallbackReceived:
    """Verify the partner's signature over the raw body, then signal the purchase (duplicates are ignored there)."""
    body = await request.body()
    try:
        verify(body, request.headers.get(SIGNATURE_HEADER), settings.partners.callback_secret)
        callback = PartnerCallback.model_validate_json(body)
    except SignatureError as err:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad signature: {err}") from None
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in err.errors())
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"bad callback body: {problems}") from None
    workflow_id = purchase_workflow_id(callback.order_ref)
    try:
        await client.get_workflow_handle(workflow_id).signal(Signal.PARTNER_EVENT.value, callback.event())
    except Exception as err:
        await raise_for(err, callback.order_ref, client)
    return CallbackReceived(delivered=True, purchase_id=workflow_id)
