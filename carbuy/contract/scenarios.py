"""The scenarios a test or a demo can choose per order; the default is that everything succeeds."""

from __future__ import annotations

from enum import StrEnum


class Scenario(StrEnum):
    """One deviation from the happy path, chosen per order through the control API."""

    LOAN_DENIED = "loan_denied"
    LOAN_DOCUMENTS_REQUIRED = "loan_documents_required"
    NO_STOCK = "no_stock"
    REGISTRATION_REJECTED = "registration_rejected"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    PDI_FAILED = "pdi_failed"
    INSURER_REFUSES = "insurer_refuses"
    BATTERY_REFUSED = "battery_refused"
    LENDER_SILENT = "lender_silent"
    """The lender decides but sends no callback, until the application is posted again under its key."""
