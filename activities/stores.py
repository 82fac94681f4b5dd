"""After-sales stores: book the first service; the store calls back when it is done."""

from __future__ import annotations

from temporalio import activity

from activities.base import PartnerActivities
from activities.partner_http import PartnerClient
from carbuy.contract.activities import Activity, BookFirstServiceInput, BookFirstServiceResult


class StoresClient(PartnerClient):
    """The after-sales store network's API."""

    institution = "stores"

    async def book(self, input: BookFirstServiceInput) -> BookFirstServiceResult:
        """Book a service."""
        return await self.post_for("/bookings", input, BookFirstServiceResult)


class StoresActivities(PartnerActivities[StoresClient]):
    """Activities on the after-sales stores."""

    client_class = StoresClient

    @activity.defn(name=Activity.BOOK_FIRST_SERVICE)
    async def book_first_service(self, input: BookFirstServiceInput) -> BookFirstServiceResult:
        """Book the first service near the customer; service.completed comes back by callback."""
        result = await self.client.book(input)
        activity.logger.info(
            "stores: order %s booking %s at %s, due %s",
            input.order_ref,
            result.booking_id,
            result.store_id,
            input.due_at.isoformat(),
        )
        return result
