"""Compensation as data: each step that changed the world records its undo; undos run in reverse."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import metrics

with workflow.unsafe.imports_passed_through():
    from carbuy.contract import activities as a
    from carbuy.contract.undo import UndoKind


class Undo(BaseModel):
    """One recorded undo: what to undo, the partner's reference, the money involved."""

    kind: UndoKind
    reference: str
    amount_fen: int = 0
    done: bool = False
    error: str | None = None
    resolution: str | None = None


class Saga:
    """The undos recorded so far, in the order the steps succeeded."""

    def __init__(self) -> None:
        self.undos: list[Undo] = []

    def record(self, kind: UndoKind, reference: str, amount_fen: int = 0) -> None:
        """Record the undo of a step that just succeeded."""
        self.undos.append(Undo(kind=kind, reference=reference, amount_fen=amount_fen))

    def settle(self, kind: UndoKind, reference: str, resolution: str) -> Undo | None:
        """Mark a recorded undo as no longer needed (its step was undone on the way, or ended by itself)."""
        undo = next((u for u in self.undos if u.kind is kind and u.reference == reference and not u.done), None)
        if undo is not None:
            undo.done, undo.error, undo.resolution = True, None, resolution
        return undo

    def failed(self) -> list[Undo]:
        """The undos that ran and failed, and are not resolved yet."""
        return [u for u in self.undos if not u.done and u.error is not None]

    def find_failed(self, kind: UndoKind, reference: str) -> Undo | None:
        """A failed undo by its kind and partner reference."""
        return next((u for u in self.failed() if u.kind is kind and u.reference == reference), None)

    async def compensate(self, run: Callable[[Undo], Awaitable[None]]) -> list[Undo]:
        """Run every pending undo in reverse; one that fails after its retries does not stop the others."""
        failed: list[Undo] = []
        for undo in reversed(self.undos):
            if undo.done:
                continue
            try:
                await run(undo)
                undo.done, undo.error = True, None
                metrics.compensation_ran(undo.kind.value, ok=True)
            except ActivityError as err:
                undo.error = str(err.cause or err)
                failed.append(undo)
                metrics.compensation_ran(undo.kind.value, ok=False)
                workflow.logger.warning("undo %s failed: %s", undo.kind.value, undo.error)
        return failed


UndoInput = Callable[[str, str, str], BaseModel]
"""Builds an undo's activity input from (idempotency key, order ref, partner reference)."""

UNDO_CALLS: dict[UndoKind, tuple[a.Activity, UndoInput, type[BaseModel], str]] = {
    UndoKind.RELEASE_VEHICLE: (
        a.Activity.RELEASE_VEHICLE,
        lambda key, order, ref: a.ReleaseVehicleInput(key=key, order_ref=order, reservation_id=ref),
        a.ReleaseVehicleResult,
        "release the VIN",
    ),
    UndoKind.CANCEL_LOAN: (
        a.Activity.CANCEL_LOAN,
        lambda key, order, ref: a.CancelLoanInput(key=key, order_ref=order, application_id=ref),
        a.CancelLoanResult,
        "cancel the loan",
    ),
    UndoKind.CANCEL_BATTERY_CONTRACT: (
        a.Activity.CANCEL_BATTERY_CONTRACT,
        lambda key, order, ref: a.BatteryContractRef(key=key, order_ref=order, contract_id=ref),
        a.BatteryContractResult,
        "cancel the battery lease",
    ),
    UndoKind.CANCEL_POLICY: (
        a.Activity.CANCEL_POLICY,
        lambda key, order, ref: a.CancelPolicyInput(key=key, order_ref=order, policy_id=ref),
        a.CancelPolicyResult,
        "cancel the insurance policy",
    ),
    UndoKind.CANCEL_SHIPMENT: (
        a.Activity.CANCEL_SHIPMENT,
        lambda key, order, ref: a.CancelShipmentInput(key=key, order_ref=order, shipment_id=ref),
        a.CancelShipmentResult,
        "cancel the shipment",
    ),
}
"""Every undo that is one partner call (refunds need the fee rules and are run by the purchase)."""
