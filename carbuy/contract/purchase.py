"""Task queue, names, stages, search attributes and the models of PurchaseWorkflow."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import SearchAttributeKey

from carbuy.contract.order import FinancingPlan, LoanTerms, Order, PurchaseMode
from carbuy.domain.policy import PurchasePolicy
from carbuy.domain.pricing import Quote

TASK_QUEUE = "carbuy-purchase"
WORKFLOW_NAME = "PurchaseWorkflow"
WORKFLOW_ID_PREFIX = "purchase-"


def purchase_workflow_id(order_id: str) -> str:
    """The workflow id of the purchase started by an order: one order, one purchase."""
    return f"{WORKFLOW_ID_PREFIX}{order_id}"


class PurchaseStage(StrEnum):
    """Where a purchase is; parallel branches report the least advanced one."""

    DEPOSIT = "deposit"
    LOCK = "lock"
    ALLOCATION = "allocation"
    FINANCING = "financing"
    INSURANCE = "insurance"
    LOGISTICS = "logistics"
    BALANCE_PAYMENT = "balance_payment"
    REGISTRATION = "registration"
    HANDOVER = "handover"
    FIRST_SERVICE = "first_service"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


STAGE_ORDER: tuple[PurchaseStage, ...] = tuple(PurchaseStage)


class PurchaseState(StrEnum):
    """The coarse life state of a purchase, for filtering in the UI."""

    ACTIVE = "active"
    COMPENSATING = "compensating"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Branch(StrEnum):
    """The parallel branches that run between lock and balance payment."""

    VEHICLE = "vehicle"
    FINANCING = "financing"
    INSURANCE = "insurance"


class SearchAttribute(StrEnum):
    """Search-attribute keys (all Keyword): none of them carries PII."""

    STAGE = "PurchaseStage"
    STATE = "PurchaseState"


STAGE_KEY = SearchAttributeKey.for_keyword(SearchAttribute.STAGE.value)
STATE_KEY = SearchAttributeKey.for_keyword(SearchAttribute.STATE.value)


class Signal(StrEnum):
    """Signal names."""

    PARTNER_EVENT = "partner_event"
    PROCESSOR_EVENT = "processor_event"


class Update(StrEnum):
    """Update names: customer actions."""

    PAY_DEPOSIT = "pay_deposit"
    LOCK = "lock"
    PAY_BALANCE = "pay_balance"
    HANDOVER = "handover"
    CANCEL = "cancel"
    SWITCH_TO_FULL_PAYMENT = "switch_to_full_payment"
    UPLOAD_LOAN_DOCUMENTS = "upload_loan_documents"


class Query(StrEnum):
    """Query names."""

    STATUS = "status"


class ErrorType(StrEnum):
    """ApplicationError types raised by workflows and activities; the starter maps them to HTTP codes."""

    WRONG_STAGE = "WrongStage"
    INVALID_ACTION = "InvalidAction"
    PAYMENT_DECLINED = "PaymentDeclined"
    PARTNER_REFUSED = "PartnerRefused"
    PARTNER_CONFLICT = "PartnerConflict"
    PARTNER_REJECTED_REQUEST = "PartnerRejectedRequest"


class PurchaseInput(BaseModel):
    """Input of PurchaseWorkflow: the validated order, its frozen quote and the policy."""

    model_config = ConfigDict(frozen=True)

    order: Order
    quote: Quote
    policy: PurchasePolicy = Field(default_factory=PurchasePolicy)
    order_digest: str = Field(description="keyed hash of the order body, to refuse a reused order id")
    trims: tuple[str, ...] = Field(default=(), description="the trims the customer may lock (empty: any)")
    colours: tuple[str, ...] = Field(default=(), description="the colours the customer may lock (empty: any)")


class PurchaseResult(BaseModel):
    """Result of PurchaseWorkflow."""

    order_id: str
    stage: PurchaseStage
    state: PurchaseState
    reason: str | None = None
    status: PurchaseStatus | None = None
    """The final status: the API answers a closed purchase's status from it, without a worker replaying it (None
    in the results of purchases that ended before it existed)."""


class PayInput(BaseModel):
    """Customer pays (deposit or balance) with a payment method created by the platform's front end."""

    payment_method: str = Field(min_length=3, max_length=255)


class LockInput(BaseModel):
    """Customer locks the order: trim, colour, delivery centre and financing plan."""

    trim: str = Field(min_length=1, max_length=64)
    colour: str = Field(min_length=1, max_length=64)
    delivery_centre: str = Field(min_length=1, max_length=64)
    financing_plan: FinancingPlan
    loan: LoanTerms | None = None
    commercial_insurance: bool = True


class HandoverInput(BaseModel):
    """Customer accepts (ownership passes) or refuses the car at the delivery centre."""

    accepted: bool
    reason: str | None = Field(default=None, max_length=500)


class CancelInput(BaseModel):
    """Customer cancels the purchase (refused after handover)."""

    reason: str = Field(default="customer request", max_length=500)


class SwitchToFullPaymentInput(BaseModel):
    """After the lender said no, the customer pays the whole price instead of borrowing (within the window)."""

    note: str | None = Field(default=None, max_length=500)


class LoanDocumentsInput(BaseModel):
    """The documents the lender asked for, as the customer uploaded them (document references)."""

    documents: list[str] = Field(min_length=1, max_length=10, examples=[["proof_of_income"]])


class ActionResult(BaseModel):
    """What a customer action did: accepted, and the stage the purchase is in now."""

    accepted: bool
    stage: PurchaseStage
    message: str


class Wait(BaseModel):
    """What a purchase is waiting for, since when and until when."""

    what: str
    since: datetime
    deadline: datetime | None = None
    retryable: bool = Field(default=False, description="an ops retry re-sends the partner request this waits on")
    breached: bool = Field(default=False, description="the deadline passed and the purchase waits on (SLA)")


class TimelineEntry(BaseModel):
    """One thing that happened to a purchase."""

    at: datetime
    stage: PurchaseStage
    event: str


class BranchStatus(BaseModel):
    """One parallel branch: its stage and whether it is done."""

    branch: Branch
    stage: PurchaseStage
    done: bool = False
    detail: str | None = None


class Amounts(BaseModel):
    """Money of a purchase in fen."""

    price: int
    deposit: int
    insurance_premium: int
    purchase_tax: int
    plate_fee: int
    loan_principal: int
    balance_due: int
    paid: int = 0
    refunded: int = 0


class Attention(BaseModel):
    """Why a purchase needs a person, since when (part of the status query)."""

    needed: bool = False
    since: datetime | None = None
    reasons: list[str] = Field(default_factory=list)


class FailedUndo(BaseModel):
    """An undo that still failed after its retries (part of the status query)."""

    kind: str
    reference: str
    amount_fen: int
    error: str


class PurchaseStatus(BaseModel):
    """The status query's answer."""

    order_id: str
    stage: PurchaseStage
    state: PurchaseState
    model: str
    city: str
    mode: PurchaseMode
    financing_plan: FinancingPlan
    delivery_centre: str | None
    vin: str | None
    plate: str | None
    amounts: Amounts
    branches: list[BranchStatus]
    waiting_for: list[Wait]
    timeline: list[TimelineEntry]
    reason: str | None = None
    attention: Attention = Field(default_factory=Attention)
    failed_undos: list[FailedUndo] = Field(default_factory=list)


PurchaseResult.model_rebuild()  # its final status is defined further down
