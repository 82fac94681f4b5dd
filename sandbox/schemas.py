"""Request bases shared by every institution's API, and the router factory."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sandbox.routing import PartnerRoute

ORDER_REF = Field(min_length=1, max_length=64, description="the platform's order id")


class OrderRequest(BaseModel):
    """Every partner request names the order it is about."""

    order_ref: str = ORDER_REF


class CallbackRequest(OrderRequest):
    """A request answered later, by a signed POST to callback_url."""

    callback_url: str = Field(min_length=1, pattern=r"^https?://", description="where to POST the answer")


def partner_router(institution: str, description: str) -> APIRouter:
    """The router of one institution, under /<institution>, with the partner route behaviour."""
    return APIRouter(prefix=f"/{institution}", tags=[f"{institution}: {description}"], route_class=PartnerRoute)
