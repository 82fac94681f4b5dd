"""Activity inputs and results: vehicle registry."""

from __future__ import annotations

from pydantic import BaseModel

from carbuy.contract.activities.names import Keyed


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
