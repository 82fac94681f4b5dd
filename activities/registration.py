"""The vehicle registry: file the plate registration; the plate (or a rejection) comes back by callback."""

from __future__ import annotations

from temporalio import activity

from activities.base import PartnerActivities
from activities.partner_http import PartnerClient
from carbuy.contract.activities import Activity, SubmitRegistrationInput, SubmitRegistrationResult


class RegistryClient(PartnerClient):
    """The vehicle registry's API."""

    institution = "registry"

    async def submit(self, input: SubmitRegistrationInput) -> SubmitRegistrationResult:
        """File a registration."""
        return await self.post_for("/applications", input, SubmitRegistrationResult)


class RegistrationActivities(PartnerActivities[RegistryClient]):
    """Activities on the vehicle registry."""

    client_class = RegistryClient

    @activity.defn(name=Activity.SUBMIT_REGISTRATION)
    async def submit_registration(self, input: SubmitRegistrationInput) -> SubmitRegistrationResult:
        """File the registration (a resubmission after a rejection uses a new key)."""
        result = await self.client.submit(input)
        activity.logger.info(
            "registry: order %s application %s %s", input.order_ref, result.application_id, result.status
        )
        return result
