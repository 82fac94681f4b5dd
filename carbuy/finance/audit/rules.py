"""The audit's rules, pure: one purchase's Stripe objects, ledger rows and outcome in; its nets and discrepancies out.

Every Stripe object and every ledger row lands in at most one discrepancy, the most specific: a duplicate charge
or refund, a refund of no charge, then a missing row or a different amount; a charge whose other refunds add up
to more than it received is one discrepancy more, on the charge. The nets are
compared only where no object explains the difference: Stripe's against the ledger's when every object paired
up, and the outcome's against both (a fault on one side shows as that side's object, not twice).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from carbuy.finance.audit.books import Known, PurchaseBooks
from carbuy.finance.audit.model import AuditKind as K
from carbuy.finance.audit.model import Discrepancy, MoneyAudit, PurchaseMoney
from carbuy.finance.model import LedgerRow, ProcessorObject
from carbuy.finance.rules import cny
from carbuy.store.ledger import LENDER_SIGN, PROCESSOR_SIGN, LedgerKind


def audit_books(purchases: Iterable[PurchaseBooks], known: Known, *, now: datetime | None = None) -> MoneyAudit:
    """Audit every purchase read."""
    rows: list[PurchaseMoney] = []
    found: list[Discrepancy] = []
    for books in purchases:
        row, of_purchase = audit_purchase(books, known)
        rows.append(row)
        found.extend(of_purchase)
    return MoneyAudit(generated_at=now or datetime.now(UTC), purchases=rows, discrepancies=found)


def audit_purchase(books: PurchaseBooks, known: Known) -> tuple[PurchaseMoney, list[Discrepancy]]:
    """One purchase's nets, and what is wrong with its money."""
    processor_rows = [r for r in books.rows if LedgerKind(r.kind) in PROCESSOR_SIGN]
    paired, unpaired = _pair(books.charges + books.refunds, processor_rows)
    found = _duplicate_charges(books, paired) + _refund_faults(books, paired)
    flagged = {f.reference for f in found if f.kind is not K.REFUND_EXCEEDS_CHARGE}  # that one names the charge
    for obj in books.charges + books.refunds:
        if obj.reference not in flagged:
            found.extend(_against_ledger(books.order_ref, obj, paired.get(obj.reference)))
    found.extend(_ledger_only(books.order_ref, row, known.get(row.reference), paired) for row in unpaired)
    stripe_net = sum(c.amount_fen for c in books.charges) - sum(r.amount_fen for r in books.refunds)
    ledger_net = sum(PROCESSOR_SIGN[LedgerKind(r.kind)] * r.amount_fen for r in processor_rows)
    lender_net = sum(LENDER_SIGN.get(LedgerKind(r.kind), 0) * r.amount_fen for r in books.rows)
    found.extend(_net_faults(books, stripe_net, ledger_net, lender_net, objects_explain=bool(found)))
    return PurchaseMoney(
        order_ref=books.order_ref,
        state=books.state or "open",
        stripe_net_fen=stripe_net,
        ledger_net_fen=ledger_net,
        expected_net_fen=books.expected.processor_fen if books.expected else None,
        ledger_lender_fen=lender_net,
        expected_lender_fen=books.expected.lender_fen if books.expected else None,
        charges=len(books.charges),
        refunds=len(books.refunds),
        ledger_rows=len(books.rows),
        discrepancies=len(found),
    ), found


def _pair(objects: list[ProcessorObject], rows: list[LedgerRow]) -> tuple[dict[str, LedgerRow], list[LedgerRow]]:
    """Each object with the first ledger row naming it; the rows left over."""
    by_reference = {obj.reference for obj in objects}
    paired: dict[str, LedgerRow] = {}
    unpaired: list[LedgerRow] = []
    for row in rows:
        if row.reference in by_reference and row.reference not in paired:
            paired[row.reference] = row
        else:
            unpaired.append(row)
    return paired, unpaired


def _order(objects: list[ProcessorObject], paired: dict[str, LedgerRow]) -> list[ProcessorObject]:
    """The ledger's own objects first (the others are the extra ones), then by creation."""
    return sorted(objects, key=lambda o: (o.reference not in paired, o.created))  # stable: ties keep Stripe's order


def _duplicate_charges(books: PurchaseBooks, paired: dict[str, LedgerRow]) -> list[Discrepancy]:
    """Every succeeded charge after the first for one key, or for one kind (deposit, balance) of the purchase."""
    found: list[Discrepancy] = []
    first_of: dict[str, ProcessorObject] = {}
    for charge in _order(books.charges, paired):
        earlier = first_of.get(f"key:{charge.key}") or first_of.get(f"kind:{charge.kind}")
        if earlier is None:
            first_of.update({f"key:{charge.key}": charge, f"kind:{charge.kind}": charge})
            continue
        under = "under the same key" if earlier.key == charge.key else f"under key {charge.key}"
        found.append(
            Discrepancy(
                order_ref=books.order_ref,
                kind=K.DUPLICATE_CHARGE,
                expected_fen=None,
                actual_fen=charge.amount_fen,
                reference=charge.reference,
                explanation=f"{charge.reference} is a second succeeded "
                f"{(charge.kind or 'carbuy').removesuffix('_charged')} charge of "
                f"{cny(charge.amount_fen)} {under} after "
                f"{earlier.reference} (key {earlier.key}): the customer paid twice",
            )
        )
    return found


def _refund_faults(books: PurchaseBooks, paired: dict[str, LedgerRow]) -> list[Discrepancy]:
    """Refunds under a key already refunded or of no charge of the purchase; then charges refunded beyond what they
    received by the other refunds (so that a refund paid twice is one duplicate, not also an excess)."""
    charges = {c.reference: c for c in books.charges}
    found: list[Discrepancy] = []
    keys: dict[str, ProcessorObject] = {}
    refunds_of: dict[str, list[ProcessorObject]] = {}
    for refund in _order(books.refunds, paired):
        what = f"refund {refund.reference} of {cny(refund.amount_fen)}"
        if refund.key and refund.key in keys:
            kind, why = (
                K.DUPLICATE_REFUND,
                (
                    f"{what} is a second refund under key {refund.key}, already refunded "
                    f"by {keys[refund.key].reference}: paid back twice"
                ),
            )
        elif refund.charge_ref not in charges or not refund.charge_ok:
            of = f"PaymentIntent {refund.charge_ref}" if refund.charge_ref else "no PaymentIntent"
            kind, why = (
                K.REFUND_WITHOUT_CHARGE,
                (
                    f"{what} takes money back from {of}, which is not a succeeded "
                    f"carbuy charge of order {books.order_ref}"
                ),
            )
        else:
            keys.setdefault(refund.key, refund)
            refunds_of.setdefault(refund.charge_ref or "", []).append(refund)
            continue
        found.append(
            Discrepancy(
                order_ref=books.order_ref,
                kind=kind,
                expected_fen=None,
                actual_fen=refund.amount_fen,
                reference=refund.reference,
                explanation=why,
            )
        )
    for reference, refunds in refunds_of.items():
        charge, total = charges[reference], sum(r.amount_fen for r in refunds)
        if total > charge.amount_fen:
            found.append(
                Discrepancy(
                    order_ref=books.order_ref,
                    kind=K.REFUND_EXCEEDS_CHARGE,
                    expected_fen=charge.amount_fen,
                    actual_fen=total,
                    reference=reference,
                    explanation=f"the refunds of {reference} "
                    f"({', '.join(r.reference for r in refunds)}) add up to {cny(total)}, above the "
                    f"{cny(charge.amount_fen)} it received",
                )
            )
    return found


def _against_ledger(order_ref: str, obj: ProcessorObject, row: LedgerRow | None) -> list[Discrepancy]:
    """A Stripe object the ledger does not record, or records with another amount."""
    what = f"{obj.object} {obj.reference} of {cny(obj.amount_fen)}"
    if row is None:
        return [
            Discrepancy(
                order_ref=order_ref,
                kind=K.MISSING_IN_LEDGER,
                expected_fen=None,
                actual_fen=obj.amount_fen,
                reference=obj.reference,
                explanation=f"Stripe moved {what}; the ledger has no row for it",
            )
        ]
    if row.amount_fen != obj.amount_fen:
        return [
            Discrepancy(
                order_ref=order_ref,
                kind=K.AMOUNT_MISMATCH,
                expected_fen=row.amount_fen,
                actual_fen=obj.amount_fen,
                reference=obj.reference,
                explanation=f"the ledger records {row.kind} {obj.reference} of {cny(row.amount_fen)}; "
                f"Stripe moved {cny(obj.amount_fen)}",
            )
        ]
    return []


def _ledger_only(
    order_ref: str, row: LedgerRow, seen: ProcessorObject | None, paired: dict[str, LedgerRow]
) -> Discrepancy:
    """A processor row whose object is not among the purchase's at Stripe."""
    recorded = f"the ledger records {row.kind} {row.reference} of {cny(row.amount_fen)} (key {row.key})"
    kind, actual = K.MISSING_AT_PROCESSOR, None
    if row.reference in paired:
        kind, actual = K.DUPLICATE_IN_LEDGER, paired[row.reference].amount_fen
        why = f"the ledger already records it as {paired[row.reference].kind} (key {paired[row.reference].key})"
    elif seen is None:
        why = "Stripe has no such object"
    elif not seen.settled:
        actual, why = 0, f"at Stripe it is {seen.status}: no money moved"
    elif seen.order_ref != order_ref:
        why = f"Stripe holds it for order {seen.order_ref or '(none)'}"
    else:
        actual, why = seen.amount_fen, "Stripe holds it without carbuy's metadata (kind, key)"
    return Discrepancy(
        order_ref=order_ref,
        kind=kind,
        expected_fen=row.amount_fen,
        actual_fen=actual,
        reference=row.reference,
        explanation=f"{recorded}; {why}",
    )


def _net_faults(
    books: PurchaseBooks, stripe_net: int, ledger_net: int, lender_net: int, *, objects_explain: bool
) -> list[Discrepancy]:
    """The nets that differ with no object to explain it."""
    found: list[Discrepancy] = []
    ref = books.order_ref
    if not objects_explain and stripe_net != ledger_net:
        found.append(
            Discrepancy(
                order_ref=ref,
                kind=K.PROCESSOR_NET_DIFFERS,
                expected_fen=ledger_net,
                actual_fen=stripe_net,
                explanation=f"the ledger nets {cny(ledger_net)} from Stripe, Stripe nets {cny(stripe_net)}, though "
                "every object pairs up: a row of the wrong kind",
            )
        )
    expected = books.expected
    if expected is None:
        return found
    if expected.processor_fen not in (ledger_net, stripe_net):
        found.append(
            Discrepancy(
                order_ref=ref,
                kind=K.NET_DIFFERS_FROM_OUTCOME,
                expected_fen=expected.processor_fen,
                actual_fen=ledger_net,
                explanation=f"a {books.state} purchase should net {cny(expected.processor_fen)} from the customer; the "
                f"ledger nets {cny(ledger_net)} and Stripe {cny(stripe_net)}",
            )
        )
    if expected.lender_fen != lender_net:
        found.append(
            Discrepancy(
                order_ref=ref,
                kind=K.LENDER_NET_DIFFERS_FROM_OUTCOME,
                expected_fen=expected.lender_fen,
                actual_fen=lender_net,
                explanation=f"a {books.state} purchase should have borrowed "
                f"{cny(expected.lender_fen)} from the lender; the ledger nets {cny(lender_net)} (disbursed - returned)",
            )
        )
    return found
