"""Activity inputs and results: notifications."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from carbuy.contract.activities.names import Keyed


class SendNotificationInput(Keyed):
    """Render a customer notification from its template and send it."""

    template: str = Field(description="template name under templates/notifications, without extension")
    channel: Literal["sms", "email"] = "sms"
    to: str = Field(description="the customer's phone or e-mail; ignored for the ops audience")
    audience: Literal["customer", "ops"] = Field(
        default="customer", description="ops messages go to the ops team's address from settings"
    )
    context: dict[str, str | int | None] = Field(default_factory=dict)


class SendNotificationResult(BaseModel):
    """A sent message."""

    message_id: str
