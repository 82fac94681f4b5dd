"""Every activity name, and the key every activity input carries."""

from __future__ import annotations

from enum import StrEnum

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
