"""Fake institutions for workflow tests: activities under the contract's names that answer like partners.

Asynchronous answers come back the way the starter's webhook delivers them: as partner_event signals.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from carbuy.contract import activities as a
from carbuy.contract.events import PartnerEvent, PartnerEventType, Sender
from carbuy.contract.ledger import (
    RecordCancellationFeeInput,
    RecordCancellationFeeResult,
    RecordPurchaseOutcomeInput,
    RecordPurchaseOutcomeResult,
)
from carbuy.contract.purchase import ErrorType, Signal

_ids = itertools.count(1)


def activity_methods(cls: type) -> dict[str, str]:
    """A class's @activity.defn methods: attribute name by activity name."""
    return {
        defn.name: name
        for name, member in inspect.getmembers(cls, inspect.isfunction)
        if (defn := getattr(member, "__temporal_activity_definition", None)) is not None and defn.name
    }


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


@dataclass
class FakePartners:
    """Every institution, answering at once; scenarios switch on refusals, gates hold an activity back."""

    client: Client
    scenarios: set[str] = field(default_factory=set)
    calls: list[tuple[str, Any]] = field(default_factory=list)
    charges: dict[str, a.ChargeResult] = field(default_factory=dict)
    declined_cards: set[str] = field(default_factory=lambda: {"pm_card_chargeDeclined"})
    references: dict[str, str] = field(default_factory=dict)
    gates: dict[str, asyncio.Event] = field(default_factory=dict)

    def names(self) -> list[str]:
        """The activity names called, in order."""
        return [name for name, _ in self.calls]

    async def _callback(
        self,
        workflow_id: str,
        institution: Sender,
        type: PartnerEventType,
        reference: str,
        **data: str | int | bool | None,
    ) -> None:
        """Deliver a partner's answer as the webhook would, before the request returns.

        The purchase matches answers to requests by reference, so the order does not matter; answering
        before returning keeps the time-skipping clock from jumping past a callback still in flight.
        """
        event = PartnerEvent(
            event_id=_id("evt"),
            institution=institution,
            type=type.value,
            reference=reference,
            occurred_at=datetime.now(UTC),
            data=data,
        )
        await self.client.get_workflow_handle(workflow_id).signal(Signal.PARTNER_EVENT, event)

    def _reference(self, prefix: str, key: str) -> tuple[str, bool]:
        """The partner's reference for a request key (the same on a resend), and whether it is a resend."""
        resent = key in self.references
        return self.references.setdefault(key, _id(prefix)), resent

    def _record(self, name: str, arg: Any) -> str:
        self.calls.append((name, arg))
        return activity.info().workflow_id or ""

    async def _gate(self, name: str) -> None:
        """Hold an activity (already recorded as called) until the test opens its gate, if it has one."""
        if (gate := self.gates.get(name)) is not None:
            await gate.wait()

    def activities(self) -> list[Callable[..., Any]]:
        """The fake activities to register on a test worker: one under each name the worker registers."""
        return [getattr(self, name) for name in activity_methods(type(self)).values()]

    @activity.defn(name=a.Activity.CHARGE)
    async def charge(self, input: a.ChargeInput) -> a.ChargeResult:
        self._record(a.Activity.CHARGE, input)
        await self._gate(a.Activity.CHARGE)
        if input.payment_method in self.declined_cards:
            raise ApplicationError("Your card was declined.", type=ErrorType.PAYMENT_DECLINED, non_retryable=True)
        result = self.charges.setdefault(
            input.key, a.ChargeResult(payment_intent_id=_id("pi"), amount_fen=input.amount_fen, status="succeeded")
        )
        return result

    @activity.defn(name=a.Activity.REFUND)
    async def refund(self, input: a.RefundInput) -> a.RefundResult:
        self._record(a.Activity.REFUND, input)
        await self._gate(a.Activity.REFUND)
        return a.RefundResult(refund_id=_id("re"), amount_fen=input.amount_fen)

    @activity.defn(name=a.Activity.RESERVE_VEHICLE)
    async def reserve(self, input: a.ReserveVehicleInput) -> a.ReserveVehicleResult:
        wf = self._record(a.Activity.RESERVE_VEHICLE, input)
        reservation, resent = self._reference("res", input.key)
        if "stock_silent" in self.scenarios:
            if resent:  # the OEM's allocation comes only when asked again
                await self._callback(
                    wf,
                    "inventory",
                    PartnerEventType.VEHICLE_ALLOCATED,
                    reservation,
                    vin="LGBH52E09PY000003",
                    warehouse="Guangzhou-Panyu",
                )
            return a.ReserveVehicleResult(reservation_id=reservation, status="backordered")
        if "no_stock" in self.scenarios:
            await self._callback(
                wf,
                "inventory",
                PartnerEventType.VEHICLE_ALLOCATED,
                reservation,
                vin="LGBH52E09PY000002",
                warehouse="Guangzhou-Panyu",
            )
            return a.ReserveVehicleResult(reservation_id=reservation, status="backordered")
        nth = sum(1 for name, _ in self.calls if name == a.Activity.RESERVE_VEHICLE)  # another car, another VIN
        return a.ReserveVehicleResult(
            reservation_id=reservation, status="reserved", vin=f"LGBH52E09PY{nth:06d}", warehouse="Guangzhou-Panyu"
        )

    @activity.defn(name=a.Activity.RELEASE_VEHICLE)
    async def release(self, input: a.ReleaseVehicleInput) -> a.ReleaseVehicleResult:
        self._record(a.Activity.RELEASE_VEHICLE, input)
        await self._gate(a.Activity.RELEASE_VEHICLE)
        if "release_fails" in self.scenarios:
            raise ApplicationError(
                "inventory: unknown reservation", type=ErrorType.PARTNER_REJECTED_REQUEST, non_retryable=True
            )
        return a.ReleaseVehicleResult(released=True)

    @activity.defn(name=a.Activity.APPLY_FOR_LOAN)
    async def apply_loan(self, input: a.ApplyForLoanInput) -> a.ApplyForLoanResult:
        wf = self._record(a.Activity.APPLY_FOR_LOAN, input)
        application, resent = self._reference("loan", input.key)
        if "lender_silent" in self.scenarios and not resent:
            pass  # the decision is lost until the request is sent again
        elif "loan_documents" in self.scenarios:
            await self._callback(
                wf, "lender", PartnerEventType.LOAN_DOCUMENTS_REQUIRED, application, documents="proof_of_income"
            )
        elif "loan_denied" in self.scenarios:
            await self._callback(wf, "lender", PartnerEventType.LOAN_DENIED, application, reason="income too low")
        else:
            principal = input.vehicle_price_fen - input.down_payment_fen
            await self._callback(
                wf, "lender", PartnerEventType.LOAN_APPROVED, application, principal_fen=principal, annual_rate_bp=399
            )
        return a.ApplyForLoanResult(application_id=application, status="pending")

    @activity.defn(name=a.Activity.SUBMIT_LOAN_DOCUMENTS)
    async def submit_documents(self, input: a.SubmitLoanDocumentsInput) -> a.SubmitLoanDocumentsResult:
        wf = self._record(a.Activity.SUBMIT_LOAN_DOCUMENTS, input)
        if "loan_denied" in self.scenarios:
            await self._callback(
                wf, "lender", PartnerEventType.LOAN_DENIED, input.application_id, reason="income too low"
            )
        else:
            await self._callback(
                wf,
                "lender",
                PartnerEventType.LOAN_APPROVED,
                input.application_id,
                principal_fen=6_293_000,
                annual_rate_bp=399,
            )
        return a.SubmitLoanDocumentsResult(application_id=input.application_id, status="submitted")

    @activity.defn(name=a.Activity.DISBURSE_LOAN)
    async def disburse(self, input: a.DisburseLoanInput) -> a.DisburseLoanResult:
        self._record(a.Activity.DISBURSE_LOAN, input)
        return a.DisburseLoanResult(disbursement_id=_id("dis"), amount_fen=input.amount_fen)

    @activity.defn(name=a.Activity.CANCEL_LOAN)
    async def cancel_loan(self, input: a.CancelLoanInput) -> a.CancelLoanResult:
        self._record(a.Activity.CANCEL_LOAN, input)
        await self._gate(a.Activity.CANCEL_LOAN)
        return a.CancelLoanResult(cancelled=True)

    @activity.defn(name=a.Activity.CREATE_BATTERY_CONTRACT)
    async def create_battery(self, input: a.CreateBatteryContractInput) -> a.BatteryContractResult:
        self._record(a.Activity.CREATE_BATTERY_CONTRACT, input)
        if "battery_refuses" in self.scenarios:
            raise ApplicationError(
                "battery operator: no battery capacity for this model in the city",
                type=ErrorType.PARTNER_REFUSED,
                non_retryable=True,
            )
        return a.BatteryContractResult(contract_id=_id("bat"), status="signed")

    @activity.defn(name=a.Activity.ACTIVATE_BATTERY_CONTRACT)
    async def activate_battery(self, input: a.BatteryContractRef) -> a.BatteryContractResult:
        self._record(a.Activity.ACTIVATE_BATTERY_CONTRACT, input)
        return a.BatteryContractResult(contract_id=input.contract_id, status="active")

    @activity.defn(name=a.Activity.CANCEL_BATTERY_CONTRACT)
    async def cancel_battery(self, input: a.BatteryContractRef) -> a.BatteryContractResult:
        self._record(a.Activity.CANCEL_BATTERY_CONTRACT, input)
        await self._gate(a.Activity.CANCEL_BATTERY_CONTRACT)
        return a.BatteryContractResult(contract_id=input.contract_id, status="cancelled")

    @activity.defn(name=a.Activity.BIND_POLICY)
    async def bind_policy(self, input: a.BindPolicyInput) -> a.BindPolicyResult:
        self._record(a.Activity.BIND_POLICY, input)
        if "insurer_refuses" in self.scenarios:
            raise ApplicationError(
                "insurer: the VIN is not insurable", type=ErrorType.PARTNER_REFUSED, non_retryable=True
            )
        commercial = input.vehicle_price_fen * 250 // 10_000 if input.commercial else 0
        return a.BindPolicyResult(
            policy_id=_id("pol"), compulsory_premium_fen=95_000, commercial_premium_fen=commercial
        )

    @activity.defn(name=a.Activity.CANCEL_POLICY)
    async def cancel_policy(self, input: a.CancelPolicyInput) -> a.CancelPolicyResult:
        self._record(a.Activity.CANCEL_POLICY, input)
        await self._gate(a.Activity.CANCEL_POLICY)
        return a.CancelPolicyResult(cancelled=True)

    @activity.defn(name=a.Activity.BOOK_SHIPMENT)
    async def book_shipment(self, input: a.BookShipmentInput) -> a.BookShipmentResult:
        wf = self._record(a.Activity.BOOK_SHIPMENT, input)
        await self._gate(a.Activity.BOOK_SHIPMENT)
        shipment = _id("shp")
        await self._callback(wf, "carrier", PartnerEventType.SHIPMENT_PICKED_UP, shipment)
        if "in_transit" in self.scenarios:  # the car stays on the road
            return a.BookShipmentResult(shipment_id=shipment, carrier="JD Logistics")
        shipments = sum(1 for name, _ in self.calls if name == a.Activity.BOOK_SHIPMENT)
        if "always_damaged" in self.scenarios or ("damaged" in self.scenarios and shipments == 1):
            await self._callback(wf, "carrier", PartnerEventType.SHIPMENT_DAMAGED, shipment, reason="dented door")
            return a.BookShipmentResult(shipment_id=shipment, carrier="JD Logistics")
        await self._callback(wf, "carrier", PartnerEventType.SHIPMENT_ARRIVED, shipment)
        if "pdi_failed" in self.scenarios and shipments == 1:
            await self._callback(wf, "delivery_centre", PartnerEventType.PDI_FAILED, shipment, reason="paint defect")
            return a.BookShipmentResult(shipment_id=shipment, carrier="JD Logistics")
        if "slow_pdi" not in self.scenarios:
            await self._callback(wf, "delivery_centre", PartnerEventType.PDI_PASSED, shipment)
        return a.BookShipmentResult(shipment_id=shipment, carrier="JD Logistics")

    @activity.defn(name=a.Activity.CANCEL_SHIPMENT)
    async def cancel_shipment(self, input: a.CancelShipmentInput) -> a.CancelShipmentResult:
        self._record(a.Activity.CANCEL_SHIPMENT, input)
        await self._gate(a.Activity.CANCEL_SHIPMENT)
        return a.CancelShipmentResult(cancelled=True)

    @activity.defn(name=a.Activity.SUBMIT_REGISTRATION)
    async def submit_registration(self, input: a.SubmitRegistrationInput) -> a.SubmitRegistrationResult:
        wf = self._record(a.Activity.SUBMIT_REGISTRATION, input)
        application, _ = self._reference("reg", input.key)
        first = sum(1 for name, _ in self.calls if name == a.Activity.SUBMIT_REGISTRATION) == 1
        if "registry_silent" in self.scenarios:
            pass  # the plate does not come while the test looks at the purchase
        elif "registration_rejected" in self.scenarios and first:
            await self._callback(
                wf,
                "registry",
                PartnerEventType.REGISTRATION_REJECTED,
                application,
                reason="owner name does not match the id card",
            )
        else:
            await self._callback(wf, "registry", PartnerEventType.PLATE_ISSUED, application, plate="粤A·D12345")
        return a.SubmitRegistrationResult(application_id=application, status="pending")

    @activity.defn(name=a.Activity.BOOK_FIRST_SERVICE)
    async def book_service(self, input: a.BookFirstServiceInput) -> a.BookFirstServiceResult:
        self._record(a.Activity.BOOK_FIRST_SERVICE, input)
        return a.BookFirstServiceResult(booking_id=_id("svc"), store_id="JD-Care-GZ-001")

    @activity.defn(name=a.Activity.SEND_NOTIFICATION)
    async def notify(self, input: a.SendNotificationInput) -> a.SendNotificationResult:
        self._record(a.Activity.SEND_NOTIFICATION, input)
        if "notifier_down" in self.scenarios:
            raise ApplicationError(
                "notifier: gateway refused the message", type="NotificationRefused", non_retryable=True
            )
        return a.SendNotificationResult(message_id=_id("msg"))

    @activity.defn(name=a.Activity.RECORD_CANCELLATION_FEE)
    async def record_fee(self, input: RecordCancellationFeeInput) -> RecordCancellationFeeResult:
        self._record(a.Activity.RECORD_CANCELLATION_FEE, input)
        return RecordCancellationFeeResult(entry_id=next(_ids), amount_fen=input.amount_fen)

    @activity.defn(name=a.Activity.RECORD_PURCHASE_OUTCOME)
    async def record_outcome(self, input: RecordPurchaseOutcomeInput) -> RecordPurchaseOutcomeResult:
        self._record(a.Activity.RECORD_PURCHASE_OUTCOME, input)
        return RecordPurchaseOutcomeResult(outcome_id=next(_ids), state=input.state)
