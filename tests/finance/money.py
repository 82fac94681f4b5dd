"""Real money for reconciliation tests: charges and refunds in localstripe, loans at the sandbox lender, and the
ledger rows and outcomes carbuy writes for them (or, when a test plants a discrepancy, does not)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import stripe
from sqlalchemy import Engine

from carbuy.contract.purchase import purchase_workflow_id
from carbuy.runtime.settings import Settings
from carbuy.store.db import session_scope
from carbuy.store.ledger import Counterparty, LedgerEntryCreate, LedgerKind, record_entry
from carbuy.store.outcomes import OutcomeState, PurchaseOutcomeCreate, record_outcome

LENDER_KINDS = {LedgerKind.LOAN_DISBURSED, LedgerKind.PRINCIPAL_RETURNED}
PRICE_FEN = 8_990_000
DEPOSIT_FEN = 10_000
PRINCIPAL_FEN = 7_192_000


class Money:
    """One test's money: every object made through the real APIs, every ledger row through carbuy's CRUD."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.engine = engine
        self._http = stripe.HTTPXClient(timeout=10, allow_sync_methods=True)
        self.stripe = stripe.StripeClient(
            settings.stripe.api_key,
            http_client=self._http,
            max_network_retries=0,
            base_addresses={"api": str(settings.stripe.api_base)},
        )
        self.lender = httpx.Client(base_url=settings.partners.url_of("lender"), timeout=5)
        self._cards: dict[str, tuple[str, str]] = {}

    @staticmethod
    def new_order() -> str:
        """A fresh order id."""
        return f"ORD-{uuid.uuid4().hex[:10]}"

    def _card(self, order_ref: str) -> tuple[str, str]:
        if order_ref not in self._cards:
            customer = self.stripe.v1.customers.create({"metadata": {"order_ref": order_ref}})
            card = self.stripe.v1.payment_methods.create(
                {
                    "type": "card",
                    "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2035, "cvc": "123"},
                }
            )
            self.stripe.v1.payment_methods.attach(card.id, {"customer": customer.id})
            self._cards[order_ref] = (customer.id, card.id)
        return self._cards[order_ref]

    def charge(
        self,
        order_ref: str,
        kind: str,
        amount_fen: int,
        *,
        key: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> str:
        """A succeeded PaymentIntent with carbuy's metadata (or the metadata given); its id."""
        customer, card = self._card(order_ref)
        meta = (
            metadata
            if metadata is not None
            else {"order_ref": order_ref, "kind": kind, "key": key or f"{purchase_workflow_id(order_ref)}:{kind}-1"}
        )
        intent = self.stripe.v1.payment_intents.create(
            {"amount": amount_fen, "currency": "cny", "customer": customer, "payment_method": card, "metadata": meta}
        )
        confirmed = self.stripe.v1.payment_intents.confirm(intent.id)
        assert confirmed.status == "succeeded", confirmed.status
        return intent.id

    def refund(self, order_ref: str, payment_intent: str, amount_fen: int, *, key: str | None = None) -> str:
        """A refund with carbuy's metadata; its id."""
        refund = self.stripe.v1.refunds.create(
            {
                "payment_intent": payment_intent,
                "amount": amount_fen,
                "metadata": {
                    "order_ref": order_ref,
                    "key": key or f"{purchase_workflow_id(order_ref)}:refund-{payment_intent}",
                },
            }
        )
        return refund.id

    def loan(self, order_ref: str) -> str:
        """An approved loan application of PRINCIPAL_FEN at the sandbox lender; its id."""
        created = self.lender.post(
            "/applications",
            headers={"Idempotency-Key": f"{order_ref}:apply"},
            json={
                "order_ref": order_ref,
                "callback_url": "http://127.0.0.1:9/webhooks",
                "applicant_name": "Han Meimei",
                "applicant_id_number": "11010519491231002X",
                "vehicle_price_fen": PRICE_FEN,
                "down_payment_fen": PRICE_FEN - PRINCIPAL_FEN,
                "term_months": 36,
            },
        )
        created.raise_for_status()
        application_id: str = created.json()["application_id"]
        deadline = time.monotonic() + 10
        while self.lender.get(f"/applications/{application_id}").json()["status"] != "approved":
            assert time.monotonic() < deadline, "the sandbox lender never approved"
            time.sleep(0.02)
        return application_id

    def disburse(self, order_ref: str, application_id: str, amount_fen: int = PRINCIPAL_FEN) -> str:
        """Have the lender pay out; the disbursement id."""
        paid = self.lender.post(
            f"/applications/{application_id}/disbursements",
            json={"order_ref": order_ref, "amount_fen": amount_fen},
            headers={"Idempotency-Key": f"{order_ref}:disburse"},
        )
        paid.raise_for_status()
        disbursement_id: str = paid.json()["disbursement_id"]
        return disbursement_id

    def cancel_loan(self, order_ref: str, application_id: str) -> int:
        """Withdraw the application; the principal returned."""
        cancelled = self.lender.post(
            f"/applications/{application_id}/cancel",
            json={"order_ref": order_ref},
            headers={"Idempotency-Key": f"{order_ref}:cancel-loan"},
        )
        cancelled.raise_for_status()
        returned: int = cancelled.json()["principal_returned_fen"]
        return returned

    def record(
        self,
        order_ref: str,
        kind: LedgerKind,
        amount_fen: int,
        reference: str,
        *,
        key: str | None = None,
        days_ago: int = 0,
    ) -> None:
        """The ledger row carbuy writes for a movement."""
        party = Counterparty.LENDER if kind in LENDER_KINDS else Counterparty.PROCESSOR
        with session_scope(self.engine) as session:
            record_entry(
                session=session,
                entry=LedgerEntryCreate(
                    purchase_id=purchase_workflow_id(order_ref),
                    order_ref=order_ref,
                    kind=kind,
                    key=key or f"{purchase_workflow_id(order_ref)}:{kind.value}",
                    amount_fen=amount_fen,
                    counterparty=party,
                    reference=reference,
                    occurred_at=datetime.now(UTC) - timedelta(days=days_ago),
                ),
            )

    def ended(self, order_ref: str, state: OutcomeState, **facts: Any) -> None:
        """The outcome a purchase records when it ends (now)."""
        values: dict[str, Any] = {
            "locked": False,
            "fee_waived": False,
            "handed_over": False,
            "deposit_fen": DEPOSIT_FEN,
            "cancellation_fee_fen": DEPOSIT_FEN,
            "price_fen": PRICE_FEN,
            "premium_fen": 0,
            "purchase_tax_fen": 0,
            "plate_fee_fen": 0,
            "loan_principal_fen": 0,
            "balance_due_fen": 0,
            **facts,
        }
        with session_scope(self.engine) as session:
            record_outcome(
                session=session,
                outcome=PurchaseOutcomeCreate(
                    purchase_id=purchase_workflow_id(order_ref),
                    order_ref=order_ref,
                    state=state,
                    ended_at=datetime.now(UTC),
                    **values,
                ),
            )

    def close(self) -> None:
        """Close the HTTP clients."""
        self._http.close()  # type: ignore[no-untyped-call]
        self.lender.close()
