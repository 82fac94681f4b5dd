"""The lender: loan applications (decided by callback), disbursement of the principal, cancellation."""

from __future__ import annotations

from typing import Self

from sqlalchemy import Engine
from temporalio import activity

from activities.base import PartnerActivities
from activities.ledger import record_money
from activities.partner_http import PartnerClient
from carbuy.contract.activities import (
    Activity,
    ApplyForLoanInput,
    ApplyForLoanResult,
    CancelLoanInput,
    CancelLoanResult,
    DisburseLoanInput,
    DisburseLoanResult,
    SubmitLoanDocumentsInput,
    SubmitLoanDocumentsResult,
)
from carbuy.runtime.settings import Settings
from carbuy.store.engines import acquire_engine
from carbuy.store.ledger import Counterparty, LedgerKind, LedgerStore


class LenderClient(PartnerClient):
    """The lender's API."""

    institution = "lender"

    async def apply(self, input: ApplyForLoanInput) -> ApplyForLoanResult:
        """File an application."""
        return await self.post_for("/applications", input, ApplyForLoanResult)

    async def submit_documents(self, input: SubmitLoanDocumentsInput) -> SubmitLoanDocumentsResult:
        """Send the documents the lender asked for."""
        return await self.post_for(
            f"/applications/{input.application_id}/documents",
            input,
            SubmitLoanDocumentsResult,
            {"order_ref": input.order_ref, "documents": input.documents},
        )

    async def disburse(self, input: DisburseLoanInput) -> DisburseLoanResult:
        """Have the principal paid to the platform."""
        return await self.post_for(
            f"/applications/{input.application_id}/disbursements",
            input,
            DisburseLoanResult,
            {"order_ref": input.order_ref, "amount_fen": input.amount_fen},
        )

    async def cancel(self, input: CancelLoanInput) -> CancelLoanResult:
        """Withdraw the application."""
        return await self.post_for(
            f"/applications/{input.application_id}/cancel", input, CancelLoanResult, {"order_ref": input.order_ref}
        )


class FinancingActivities(PartnerActivities[LenderClient]):
    """Activities on the lender."""

    client_class = LenderClient

    def __init__(self, client: LenderClient, ledger: LedgerStore, *, owned_engine: Engine | None = None) -> None:
        super().__init__(client, owned_engine=owned_engine)
        self.ledger = ledger

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        """Built from the partner settings, writing the ledger through the process's shared engine."""
        engine = acquire_engine(settings.db)
        return cls(LenderClient.from_settings(settings), LedgerStore(engine), owned_engine=engine)

    @activity.defn(name=Activity.APPLY_FOR_LOAN)
    async def apply_for_loan(self, input: ApplyForLoanInput) -> ApplyForLoanResult:
        """File the application; the decision comes back by callback."""
        result = await self.client.apply(input)
        activity.logger.info(
            "lender: order %s application %s %s, %d months",
            input.order_ref,
            result.application_id,
            result.status,
            input.term_months,
        )
        return result

    @activity.defn(name=Activity.SUBMIT_LOAN_DOCUMENTS)
    async def submit_loan_documents(self, input: SubmitLoanDocumentsInput) -> SubmitLoanDocumentsResult:
        """Send the documents the lender asked for; the decision comes back by callback."""
        result = await self.client.submit_documents(input)
        activity.logger.info(
            "lender: order %s application %s documents sent (%s), now %s",
            input.order_ref,
            input.application_id,
            ", ".join(input.documents),
            result.status,
        )
        return result

    @activity.defn(name=Activity.DISBURSE_LOAN)
    async def disburse_loan(self, input: DisburseLoanInput) -> DisburseLoanResult:
        """Have the approved principal paid to the platform."""
        result = await self.client.disburse(input)
        activity.logger.info(
            "lender: order %s disbursement %s of %d fen", input.order_ref, result.disbursement_id, result.amount_fen
        )
        await record_money(
            self.ledger,
            input,
            kind=LedgerKind.LOAN_DISBURSED,
            amount_fen=result.amount_fen,
            counterparty=Counterparty.LENDER,
            reference=result.disbursement_id,
        )
        return result

    @activity.defn(name=Activity.CANCEL_LOAN)
    async def cancel_loan(self, input: CancelLoanInput) -> CancelLoanResult:
        """Withdraw the application, returning any principal (undo)."""
        result = await self.client.cancel(input)
        activity.logger.info(
            "lender: order %s application %s cancelled, %d fen returned",
            input.order_ref,
            input.application_id,
            result.principal_returned_fen,
        )
        if result.principal_returned_fen > 0:
            await record_money(
                self.ledger,
                input,
                kind=LedgerKind.PRINCIPAL_RETURNED,
                amount_fen=result.principal_returned_fen,
                counterparty=Counterparty.LENDER,
                reference=input.application_id,
            )
        return result
