"""Activity inputs and results: after-sales stores."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from carbuy.contract.activities.names import Keyed


class BookFirstServiceInput(Keyed):
    """Book the first service at a store near the customer; the store calls back when it is done."""

    vin: str
    city: str
    due_at: datetime
    callback_url: str = ""


class BookFirstServiceResult(BaseModel):
    """A booking at a store."""

    booking_id: str
    store_id: str
