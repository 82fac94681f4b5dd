"""Activity inputs and results: lender."""

from __future__ import annotations

from pydantic import BaseModel, Field

from carbuy.contract.activities.names import Keyed


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
