"""The insurer: bind the compulsory (and commercial) policy on a VIN, and cancel it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from temporalio import activity

from activities.partner_http import PartnerClient
from carbuy.contract.activities import (
    Activity,
    BindPolicyInput,
    BindPolicyResult,
    CancelPolicyInput,
    CancelPolicyResult,
)
from carbuy.runtime.settings import Settings


class InsurerClient(PartnerClient):
    """The insurer's API."""

    institution = "insurer"

    async def bind(self, input: BindPolicyInput) -> BindPolicyResult:
        """Bind the policy."""
        answer = await self.post("/policies", key=input.key, body=input.model_dump(exclude={"key"}))
        return BindPolicyResult.model_validate(answer)

    async def cancel(self, input: CancelPolicyInput) -> CancelPolicyResult:
        """Cancel the policy."""
        answer = await self.post(
            f"/policies/{input.policy_id}/cancel", key=input.key, body={"order_ref": input.order_ref}
        )
        return CancelPolicyResult.model_validate(answer)


class InsuranceActivities:
    """Activities on the insurer."""

    def __init__(self, client: InsurerClient) -> None:
        self.client = client

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Built from the partner settings."""
        return cls(InsurerClient.from_settings(settings))

    def all(self) -> list[Callable[..., Any]]:
        """The bound activities to register."""
        return [self.bind_policy, self.cancel_policy]

    async def aclose(self) -> None:
        """Close the client."""
        await self.client.aclose()

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
