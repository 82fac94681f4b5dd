"""The insurance branch: bind the policy once a VIN is known; re-insure after a reallocation."""

from __future__ import annotations

from temporalio import workflow

from workflows.calls import call
from workflows.compensation import undo_now
from workflows.context import Purchase
from workflows.patches import LEAN_HISTORY

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.activities import (
        Activity,
        BindPolicyInput,
        BindPolicyResult,
    )
    from carbuy.contract.purchase import Branch
    from carbuy.contract.undo import UndoKind


async def insurance(p: Purchase) -> None:
    """Bind the compulsory (and commercial) policy as soon as a VIN is known."""
    # the vehicle branch's own SLA covers a VIN that does not come; a second timer here only cost history events
    # and raised a second flag for the same cause
    sla = None if workflow.patched(LEAN_HISTORY) else p.policy.allocation_sla
    await p.waits.wait("a VIN to insure", lambda: p.vehicle.vin is not None, sla, expires=False)
    await _bind(p, "insurance")
    p.tracker.branch_done(Branch.INSURANCE, f"policy {p.insurance.policy_id}")


async def _bind(p: Purchase, step: str) -> None:
    assert p.vehicle.vin is not None
    vin = p.vehicle.vin
    policy = await call(
        Activity.BIND_POLICY,
        BindPolicyInput(
            key=p.key(step),
            order_ref=p.order.order_id,
            vin=vin,
            holder_name=p.order.customer.name,
            holder_id_number=p.order.customer.id_card_number,
            vehicle_price_fen=p.quote.price_fen,
            commercial=p.insurance.commercial,
        ),
        BindPolicyResult,
        summary="bind insurance" if step == "insurance" else f"bind insurance on {vin} (another VIN)",
    )
    p.insurance.policy_id, p.insurance.insured_vin = policy.policy_id, vin
    p.insurance.premium = policy.total_premium_fen
    p.record(UndoKind.CANCEL_POLICY, policy.policy_id, policy.total_premium_fen)


async def insure_the_delivered_vin(p: Purchase) -> None:
    """After a reallocation the policy may cover the VIN that went back: cancel it and insure the new one."""
    if p.insurance.insured_vin == p.vehicle.vin or p.insurance.policy_id is None:
        return
    old_policy, old_vin = p.insurance.policy_id, p.insurance.insured_vin
    await undo_now(p, UndoKind.CANCEL_POLICY, old_policy, f"VIN {old_vin} went back to the OEM")
    p.checkpoint()
    await _bind(p, f"insurance-{p.vehicle.reallocations + 1}")
