"""What each part of a purchase has learnt, one record per branch; the stage code that fills a record owns it.

The workflow's state is these records plus the customer's payments and the cancel/stop reasons (context.py);
the Tracker derives the plan, the delivery centre and the amounts ops see from them instead of keeping copies.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from carbuy.contract.ops import CorrectRegistrationInput
    from carbuy.contract.order import LoanTerms
    from carbuy.contract.purchase import HandoverInput, LoanDocumentsInput


@dataclass
class Payment:
    """A payment the customer submitted and its outcome (None while it runs)."""

    payment_method: str
    outcome: str | None = None
    message: str = ""
    settled: bool = False

    @property
    def answered(self) -> bool:
        """Declined, or paid and the purchase has moved past the payment step."""
        return self.outcome == "declined" or self.settled


@dataclass
class Money:
    """Money that moved: charged, refunded, and the balance asked for (the rest of the amounts is the quote's)."""

    paid: int = 0
    refunded: int = 0
    balance_due: int = 0


@dataclass
class VehicleRecord:
    """The vehicle branch (vehicle.py): the VIN reserved, where it is, its shipment, how often replaced."""

    trim: str
    colour: str
    vin: str | None = None
    warehouse: str | None = None
    shipment_id: str | None = None
    reallocations: int = 0


@dataclass
class LoanRecord:
    """The loan (financing.py): the terms, the application, the lender's asks and answer, the disbursement."""

    terms: LoanTerms | None
    application_id: str | None = None
    principal: int = 0
    """What the lender approved (0 until then)."""
    refused: str | None = None
    """Why the lender said no, while the customer may still switch to full payment."""
    switched_to_full: bool = False
    documents_asked: str | None = None
    """What the lender asked for, while the customer may upload it."""
    documents: LoanDocumentsInput | None = None
    disbursed_fen: int = 0


@dataclass
class BatteryRecord:
    """The battery lease (financing.py)."""

    contract_id: str | None = None


@dataclass
class InsuranceRecord:
    """The insurance branch (insurance.py): the cover asked for, the policy bound and on which VIN."""

    commercial: bool
    premium: int
    """The quote's premium until the insurer prices the policy."""
    policy_id: str | None = None
    insured_vin: str | None = None


@dataclass
class RegistrationRecord:
    """The plate registration (delivery.registration): the plate, or a rejection awaiting ops' correction."""

    plate: str | None = None
    rejected: bool = False
    correction: CorrectRegistrationInput | None = None


@dataclass
class HandoverRecord:
    """The handover (delivery.handover): the customer's decision and whether ownership passed."""

    decision: HandoverInput | None = None
    done: bool = False
