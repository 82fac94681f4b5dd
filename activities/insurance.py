"""The insurer: bind the compulsory (and commercial) policy on a VIN, and cancel it."""

from __future__ import annotations

from temporalio import activity

from activities.base import PartnerActivities
from activities.partner_http import PartnerClient
from carbuy.contract.activities import (
    Activity,
    BindPolicyInput,
    BindPolicyResult,
    CancelPolicyInput,
    CancelPolicyResult,
)


class InsurerClient(PartnerClient):
    """The insurer's API."""

    institution = "insurer"

    async def bind(self, input: BindPolicyInput) -> BindPolicyResult:
        """Bind the policy."""
        return await self.post_for("/policies", input, BindPolicyResult)

    async def cancel(self, input: CancelPolicyInput) -> CancelPolicyResult:
        """Cancel the policy."""
        return await self.post_for(
            f"/policies/{input.policy_id}/cancel", input, CancelPolicyResult, {"order_ref": input.order_ref}
        )


class InsuranceActivities(PartnerActivities[InsurerClient]):
    """Activities on the insurer."""

    client_class = InsurerClient

    @activity.defn(name=Activity.BIND_POLICY)
    async def bind_policy(self, input: BindPolicyInput) -> BindPolicyResult:
        """Bind the policies for the VIN, effective from handover."""
        result = await self.client.bind(input)
        activity.logger.info(
            "insurer: order %s policy %s, premium %d fen", input.order_ref, result.policy_id, result.total_premium_fen
        )
        return result

    @activity.defn(name=Activity.CANCEL_POLICY)
    async def cancel_policy(self, input: CancelPolicyInput) -> CancelPolicyResult:
        """Cancel the policy, premium refunded (undo)."""
        result = await self.client.cancel(input)
        activity.logger.info(
            "insurer: order %s policy %s cancelled, %d fen refunded",
            input.order_ref,
            input.policy_id,
            result.refunded_premium_fen,
        )
        return result
