"""localstripe, the dev stack's Stripe: have it POST its events to the starter's webhook endpoint."""

from __future__ import annotations

from typing import Any

import httpx

LOCALSTRIPE_WEBHOOK_ID = "carbuy"


def register_localstripe_webhook(
    api_base: str, url: str, secret: str, *, events: list[str] | None = None, webhook_id: str = LOCALSTRIPE_WEBHOOK_ID
) -> None:
    """Have a localstripe server POST its events to url, signed with secret (localstripe's /_config/webhooks)."""
    body: dict[str, Any] = {"url": url, "secret": secret}
    if events is not None:
        body["events"] = events
    response = httpx.post(f"{api_base.rstrip('/')}/_config/webhooks/{webhook_id}", json=body, timeout=10.0)
    response.raise_for_status()
