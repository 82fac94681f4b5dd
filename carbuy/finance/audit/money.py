"""The money audit: per purchase, over everything, Stripe's net against the ledger's and the outcome's.

For every purchase (every order ref in the ledger, the outcomes, or Stripe's metadata; or only those asked for):
- Stripe net: succeeded PaymentIntents' amount received - settled refunds (pending ones count: the money is gone),
  read through the SDK's list API (a local Stripe server cannot filter: carbuy's metadata is read on our side);
- ledger net: deposit and balance charged - refunded (the fee kept is the part of the deposit not refunded,
  already in the net; the carrier's fee never moves through Stripe);
- expected net: `expected_nets(outcome)` once the purchase has ended; None while it is open;
- the lender: the ledger's disbursed - returned against the outcome's principal.
Every difference is a Discrepancy (see carbuy/audit/rules.py for which, and why each lands once).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection

from carbuy.finance.audit.books import read_books
from carbuy.finance.audit.model import AuditKind, Discrepancy, MoneyAudit, PurchaseMoney
from carbuy.finance.audit.rules import audit_books
from carbuy.finance.processor import StripeProcessor
from carbuy.runtime.settings import Settings
from carbuy.store.engines import acquire_engine, release_engine

__all__ = ["AuditKind", "Discrepancy", "MoneyAudit", "PurchaseMoney", "audit_money", "audit_money_sync"]


async def audit_money(settings: Settings, *, order_refs: Collection[str] | None = None) -> MoneyAudit:
    """Audit every purchase's money (or only these orders'), in a worker thread: the reads are blocking."""
    return await asyncio.to_thread(audit_money_sync, settings, order_refs=order_refs)


def audit_money_sync(settings: Settings, *, order_refs: Collection[str] | None = None) -> MoneyAudit:
    """Audit every purchase's money (or only these orders') against the configured database and Stripe."""
    engine = acquire_engine(settings.db)
    processor = StripeProcessor(settings.stripe, page_size=settings.finance.stripe_page_size)
    try:
        purchases, known = read_books(engine, processor, order_refs)
    finally:
        processor.close()
        release_engine(engine)
    return audit_books(purchases, known)
