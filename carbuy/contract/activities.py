"""Activity names and their input/result models: the workflow calls activities by these names only.

Workflows never import activity modules (they hold HTTP and database clients); the activities
register themselves under these names and the workflow tests stub them by the same names.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class Activity(StrEnum):
    """Every activity name."""

    CHARGE = "charge_payment"
    REFUND = "refund_payment"
    RESERVE_VEHICLE = "reserve_vehicle"
    RELEASE_VEHICLE = "release_vehicle"
    APPLY_FOR_LOAN = "apply_for_loan"
    DISBURSE_LOAN = "disburse_loan"
    CANCEL_LOAN = "cancel_loan"
    SUBMIT_LOAN_DOCUMENTS = "submit_loan_documents"
    CREATE_BATTERY_CONTRACT = "create_battery_contract"
    ACTIVATE_BATTERY_CONTRACT = "activate_battery_contract"
    CANCEL_BATTERY_CONTRACT = "cancel_battery_contract"
    BIND_POLICY = "bind_policy"
    CANCEL_POLICY = "cancel_policy"
    BOOK_SHIPMENT = "book_shipment"
    CANCEL_SHIPMENT = "cancel_shipment"
    SUBMIT_REGISTRATION = "submit_registration"
    BOOK_FIRST_SERVICE = "book_first_service"
    SEND_NOTIFICATION = "send_notification"
    RECORD_CANCELLATION_FEE = "record_cancellation_fee"
    RECORD_PURCHASE_OUTCOME = "record_purchase_outcome"


class Keyed(BaseModel):
    """Every activity input carries an idempotency key derived from the workflow id and the step."""

    key: str = Field(min_length=1, max_length=200)
    order_ref: str = Field(description="the order id, the reference partners know the purchase by")


# payments (Stripe)


class ChargeInput(Keyed):
    """Charge the customer through the payment processor."""

    kind: Literal["deposit", "balance"]
    amount_fen: int = Field(gt=0)
    payment_method: str
    description: str


class ChargeResult(BaseModel):
    """A succeeded charge."""

    payment_intent_id: str
    amount_fen: int
    status: str


class RefundInput(Keyed):
    """Refund (part of) a charge; never more than is still refundable."""

    kind: Literal["deposit", "balance"] = Field(description="which charge this refunds (names its ledger row)")
    payment_intent_id: str
    amount_fen: int = Field(gt=0)
    reason: str


class RefundResult(BaseModel):
    """A refund that was made (or had been made before under the same key)."""

    refund_id: str
    amount_fen: int


# OEM inventory


class ReserveVehicleInput(Keyed):
    """Reserve a VIN for the model, trim and colour."""

    model: str
    trim: str
    colour: str
    mode: str
    callback_url: str = ""


class ReserveVehicleResult(BaseModel):
    """A reservation: a VIN now, or backordered (the VIN comes later by callback)."""

    reservation_id: str
    status: Literal["reserved", "backordered"]
    vin: str | None = None
    warehouse: str | None = None


class ReleaseVehicleInput(Keyed):
    """Give a reserved VIN back to the OEM."""

    reservation_id: str


class ReleaseVehicleResult(BaseModel):
    """Release done."""

    released: bool


# lender


class ApplyForLoanInput(Keyed):
    """Apply for a car loan; the decision comes back by callback."""

    applicant_name: str
    applicant_id_number: str
    vehicle_price_fen: int
    down_payment_fen: int
    term_months: int
    callback_url: str = ""


class ApplyForLoanResult(BaseModel):
    """The application as filed."""

    application_id: str
    status: str


class DisburseLoanInput(Keyed):
    """Ask the lender to pay the approved principal to the platform."""

    application_id: str
    amount_fen: int = Field(gt=0)


class DisburseLoanResult(BaseModel):
    """The lender's disbursement."""

    disbursement_id: str
    amount_fen: int


class SubmitLoanDocumentsInput(Keyed):
    """Send the lender the documents it asked for; the decision then comes back by callback."""

    application_id: str
    documents: list[str] = Field(min_length=1)


class SubmitLoanDocumentsResult(BaseModel):
    """The application after the documents arrived."""

    application_id: str
    status: str


class CancelLoanInput(Keyed):
    """Withdraw the application, returning any principal disbursed."""

    application_id: str


class CancelLoanResult(BaseModel):
    """Cancellation done."""

    cancelled: bool
    principal_returned_fen: int = 0


# battery operator


class CreateBatteryContractInput(Keyed):
    """Sign a battery lease (rent starts at activation)."""

    customer_name: str
    model: str
    monthly_rent_fen: int


class BatteryContractResult(BaseModel):
    """A battery contract and its status."""

    contract_id: str
    status: str


class BatteryContractRef(Keyed):
    """Activate or cancel a battery contract."""

    contract_id: str
    vin: str | None = None


# insurer


class BindPolicyInput(Keyed):
    """Bind the compulsory (and optionally commercial) policy for a VIN, effective from handover."""

    vin: str
    holder_name: str
    holder_id_number: str
    vehicle_price_fen: int
    commercial: bool


class BindPolicyResult(BaseModel):
    """A bound policy with its premiums."""

    policy_id: str
    compulsory_premium_fen: int
    commercial_premium_fen: int

    @property
    def total_premium_fen(self) -> int:
        """Both premiums."""
        return self.compulsory_premium_fen + self.commercial_premium_fen


class CancelPolicyInput(Keyed):
    """Cancel a policy (full premium refund before it takes effect)."""

    policy_id: str


class CancelPolicyResult(BaseModel):
    """Cancellation done."""

    cancelled: bool
    refunded_premium_fen: int = 0


# carrier


class BookShipmentInput(Keyed):
    """Move a VIN from its warehouse to the delivery centre; events come back by callback."""

    vin: str
    warehouse: str
    delivery_centre: str
    callback_url: str = ""


class BookShipmentResult(BaseModel):
    """A booked shipment."""

    shipment_id: str
    carrier: str


class CancelShipmentInput(Keyed):
    """Cancel or return a shipment; the carrier may charge a fee."""

    shipment_id: str


class CancelShipmentResult(BaseModel):
    """Cancellation done, with the carrier's fee."""

    cancelled: bool
    fee_fen: int = 0


# vehicle registry


class SubmitRegistrationInput(Keyed):
    """File the plate registration; the plate (or a rejection) comes back by callback."""

    vin: str
    owner_name: str
    owner_id_number: str
    city: str
    policy_id: str
    purchase_tax_fen: int
    invoice_number: str
    callback_url: str = ""


class SubmitRegistrationResult(BaseModel):
    """The registration application as filed."""

    application_id: str
    status: str


# after-sales stores


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


# notifications


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
