"""What the money audit finds: one row per purchase with its three nets, and every discrepancy."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field, computed_field


class AuditKind(StrEnum):
    """Every way a purchase's money can be wrong, most specific first."""

    DUPLICATE_CHARGE = "duplicate_charge"
    """A second succeeded charge for one key, or for one purchase's deposit (or balance): paid twice."""
    DUPLICATE_REFUND = "duplicate_refund"
    """A second refund under one idempotency key: paid back twice."""
    REFUND_WITHOUT_CHARGE = "refund_without_charge"
    """A refund whose PaymentIntent is not a succeeded carbuy charge of the same purchase."""
    REFUND_EXCEEDS_CHARGE = "refund_exceeds_charge"
    """Refunds of one PaymentIntent that add up to more than it received."""
    MISSING_IN_LEDGER = "missing_in_ledger"
    """Stripe moved money for the purchase; the ledger has no row for it."""
    MISSING_AT_PROCESSOR = "missing_at_processor"
    """A ledger row names a charge or refund Stripe does not have, did not settle, or holds for another order."""
    DUPLICATE_IN_LEDGER = "duplicate_in_ledger"
    """Two ledger rows name the same Stripe object."""
    AMOUNT_MISMATCH = "amount_mismatch"
    """The ledger and Stripe name the same object with different amounts."""
    PROCESSOR_NET_DIFFERS = "processor_net_differs"
    """Stripe's net and the ledger's differ although every object pairs up (a row booked as the wrong kind)."""
    NET_DIFFERS_FROM_OUTCOME = "net_differs_from_outcome"
    """An ended purchase holds other money, in the ledger and at Stripe alike, than its outcome should cost."""
    LENDER_NET_DIFFERS_FROM_OUTCOME = "lender_net_differs_from_outcome"
    """An ended purchase's ledger shows another lender net (disbursed - returned) than its outcome should."""


class Discrepancy(BaseModel):
    """One difference found on one purchase."""

    order_ref: str
    kind: AuditKind
    expected_fen: int | None = Field(
        description="what it should be (the ledger, or the outcome's rules); None: there should be nothing"
    )
    actual_fen: int | None = Field(
        description="what it is (Stripe, or the ledger for the outcome checks); None: there is nothing"
    )
    reference: str | None = Field(default=None, description="the pi_… or re_… concerned, when there is one")
    explanation: str


class PurchaseMoney(BaseModel):
    """One purchase's nets (fen): what Stripe holds, what the ledger says, what its outcome should cost."""

    order_ref: str
    state: str = Field(description="completed, cancelled or failed; open while it has no outcome")
    stripe_net_fen: int = Field(description="succeeded charges received - settled refunds")
    ledger_net_fen: int = Field(description="processor rows: charged - refunded")
    expected_net_fen: int | None = Field(description="expected_nets(outcome).processor_fen; None while open")
    ledger_lender_fen: int = Field(description="lender rows: disbursed - principal returned")
    expected_lender_fen: int | None = Field(description="expected_nets(outcome).lender_fen; None while open")
    charges: int = Field(description="succeeded PaymentIntents")
    refunds: int = Field(description="settled refunds")
    ledger_rows: int
    discrepancies: int

    @property
    def ok(self) -> bool:
        """Nothing found on this purchase."""
        return self.discrepancies == 0


class MoneyAudit(BaseModel):
    """The audit of every purchase asked for: its rows, every discrepancy, the counts and the totals."""

    generated_at: datetime
    purchases: list[PurchaseMoney]
    discrepancies: list[Discrepancy]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """No discrepancy at all."""
        return not self.discrepancies

    @computed_field  # type: ignore[prop-decorator]
    @property
    def purchases_audited(self) -> int:
        """How many purchases were audited."""
        return len(self.purchases)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def by_kind(self) -> dict[str, int]:
        """How many discrepancies of each kind found (kinds not found left out)."""
        counted = Counter(found.kind for found in self.discrepancies)
        return {kind.value: counted[kind] for kind in AuditKind if counted[kind]}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def stripe_net_fen(self) -> int:
        """Stripe's net over every purchase audited."""
        return sum(p.stripe_net_fen for p in self.purchases)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ledger_net_fen(self) -> int:
        """The ledger's processor net over every purchase audited."""
        return sum(p.ledger_net_fen for p in self.purchases)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def expected_net_fen(self) -> int:
        """The expected processor net over the ended purchases (open ones expect nothing yet)."""
        return sum(p.expected_net_fen or 0 for p in self.purchases)

    def of(self, order_ref: str) -> list[Discrepancy]:
        """The discrepancies of one purchase."""
        return [found for found in self.discrepancies if found.order_ref == order_ref]
