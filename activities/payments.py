"""Payments through Stripe: charge and refund activities that never move money twice for one key.

Every Stripe object carbuy creates is recorded under our own key in our database and looked up before
anything is created, because a local Stripe server ignores Idempotency-Key (real Stripe honours it too,
so the same key is also sent). A crash can fall between a create and its record, so what Stripe can list
is also looked for there, by the key it carries in its metadata, before it is created: a refund among the
intent's refunds, and the order's Customer (one per order, shared by its charges) among those with its
email, customer_email(order_ref): an address under .invalid, never delivered, holding no PII. Two
attempts racing may both create a Customer: the first record wins, both use the recorded one, and the
other Customer, which nothing was attached to, is deleted. A charge is created unconfirmed, recorded,
then confirmed: a crash at any point leaves at most an unconfirmed PaymentIntent that no money moved
through, and a retry confirms the recorded one. Network errors, 5xx and rate limits are raised as they
are: Temporal retries the activity, so the SDK's own retries are off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlalchemy import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.base import Activities
from activities.ledger import record_money
from activities.stripe_gateway import StripeGateway
from carbuy.contract.activities import Activity, ChargeInput, ChargeResult, RefundInput, RefundResult
from carbuy.contract.purchase import ErrorType
from carbuy.runtime.settings import Settings
from carbuy.store.engines import acquire_engine
from carbuy.store.ledger import Counterparty, LedgerKind, LedgerStore
from carbuy.store.payment_keys import PaymentKey, PaymentKeyCreate, PaymentKeyStore, PaymentObjectType
from observability.metrics import money_moved

REFUND_EXCEEDS_PAYMENT = "RefundExceedsPayment"
"""ApplicationError type (non-retryable): the refund asked for is more than is still refundable."""

PAYMENT_PROCESSING = "PaymentProcessing"
"""ApplicationError type (retryable): Stripe has not settled the payment yet; a later attempt reads it again."""

_COUNTED_REFUND_STATUSES = frozenset({"pending", "requires_action", "succeeded"})


def customer_key(order_ref: str) -> str:
    """Our key for an order's Stripe Customer: recorded in payment_keys and carried in the Customer's metadata."""
    return f"{order_ref}:customer"


class PaymentActivities(Activities):
    """Charge and refund activities; holds the Stripe gateway, the key store and the ledger, nothing per purchase."""

    def __init__(
        self, *, gateway: StripeGateway, keys: PaymentKeyStore, ledger: LedgerStore, owned_engine: Engine | None = None
    ) -> None:
        self._gateway = gateway
        self._keys = keys
        self._ledger = ledger
        self.owned_engine = owned_engine

    @classmethod
    def from_settings(cls, settings: Settings) -> PaymentActivities:
        """Build the gateway and the database (schema upgraded) from settings; aclose() releases both."""
        engine = acquire_engine(settings.db)
        return cls(
            gateway=StripeGateway(settings.stripe),
            keys=PaymentKeyStore(engine),
            ledger=LedgerStore(engine),
            owned_engine=engine,
        )

    async def aclose(self) -> None:
        """Close the Stripe connections and let go of the database engine built by from_settings."""
        await self._gateway.aclose()
        await super().aclose()

    @activity.defn(name=Activity.CHARGE)
    async def charge_payment(self, input: ChargeInput) -> ChargeResult:
        """Charge once per key: reuse the recorded PaymentIntent, or create, record, then confirm one."""
        with _stripe_errors():
            recorded = await self._keys.get(input.key)
            if recorded is None:
                intent = await self._create_intent(input)
            else:
                _check_record(recorded, PaymentObjectType.PAYMENT_INTENT, input.amount_fen)
                intent = await self._gateway.retrieve_payment_intent(recorded.object_id)
            if intent.status == "requires_confirmation":
                intent = await self._confirm(intent.id, input.key)
                if intent.status == "succeeded":  # counted where it moves: a retry finds it confirmed already
                    money_moved(input.kind, intent.amount)
            result = _charge_result(intent, input)
            # Also on a retry that finds the intent charged: the row may be what the crash left unwritten.
            await record_money(
                self._ledger,
                input,
                kind=_CHARGED[input.kind],
                amount_fen=result.amount_fen,
                counterparty=Counterparty.PROCESSOR,
                reference=result.payment_intent_id,
                occurred_at=_charged_at(intent),
            )
            return result

    @activity.defn(name=Activity.REFUND)
    async def refund_payment(self, input: RefundInput) -> RefundResult:
        """Refund once per key, never more than the payment still holds."""
        with _stripe_errors():
            recorded = await self._keys.get(input.key)
            if recorded is not None:
                _check_record(recorded, PaymentObjectType.REFUND, input.amount_fen)
                await self._record_refund(input, recorded.object_id, input.amount_fen, None)
                return RefundResult(refund_id=recorded.object_id, amount_fen=input.amount_fen)
            intent = await self._gateway.retrieve_payment_intent(input.payment_intent_id)
            refunds = await self._gateway.list_refunds(intent.id)
            # A refund made under this key before a crash, before it could be recorded.
            refund = next((r for r in refunds if _field(r.metadata, "key") == input.key), None)
            if refund is None:
                refundable = _amount_paid(intent) - sum(
                    r.amount for r in refunds if r.status in _COUNTED_REFUND_STATUSES
                )
                if input.amount_fen > refundable:
                    raise ApplicationError(
                        f"refund of {input.amount_fen} fen refused: {refundable} fen still refundable",
                        {"requested_fen": input.amount_fen, "refundable_fen": refundable},
                        type=REFUND_EXCEEDS_PAYMENT,
                        non_retryable=True,
                    )
                # The free-text reason may name the customer: it stays out of Stripe and out of the logs.
                metadata = {"order_ref": input.order_ref, "key": input.key}
                refund = await self._gateway.create_refund(
                    payment_intent=intent.id, amount_fen=input.amount_fen, metadata=metadata, idempotency_key=input.key
                )
                money_moved(f"refund_{input.kind}", refund.amount)
            row = await self._keys.record(
                PaymentKeyCreate(
                    key=input.key,
                    object_type=PaymentObjectType.REFUND,
                    object_id=refund.id,
                    order_ref=input.order_ref,
                    amount_fen=refund.amount,
                )
            )
            activity.logger.info("refund %s of %s fen for order %s", row.object_id, row.amount_fen, input.order_ref)
            amount = row.amount_fen or refund.amount
            await self._record_refund(input, row.object_id, amount, _timestamp(refund.created))
            return RefundResult(refund_id=row.object_id, amount_fen=amount)

    async def _record_refund(self, input: RefundInput, refund_id: str, amount_fen: int, at: datetime | None) -> None:
        await record_money(
            self._ledger,
            input,
            kind=_REFUNDED[input.kind],
            amount_fen=amount_fen,
            counterparty=Counterparty.PROCESSOR,
            reference=refund_id,
            occurred_at=at,
        )

    async def _create_intent(self, input: ChargeInput) -> stripe.PaymentIntent:
        customer = await self._customer_for(input.order_ref)
        await self._gateway.attach_payment_method(
            payment_method=input.payment_method, customer=customer, idempotency_key=f"{input.key}:attach"
        )
        metadata = {
            "order_ref": input.order_ref,
            "kind": input.kind,
            "key": input.key,
            "description": input.description[:500],
        }
        intent = await self._gateway.create_payment_intent(
            amount_fen=input.amount_fen,
            customer=customer,
            payment_method=input.payment_method,
            metadata=metadata,
            idempotency_key=input.key,
        )
        row = await self._keys.record(
            PaymentKeyCreate(
                key=input.key,
                object_type=PaymentObjectType.PAYMENT_INTENT,
                object_id=intent.id,
                order_ref=input.order_ref,
                amount_fen=input.amount_fen,
            )
        )
        if row.object_id == intent.id:
            return intent
        # A concurrent attempt recorded its own intent first: that one is charged, ours stays unconfirmed.
        activity.logger.warning("payment intent %s left unconfirmed for %s", intent.id, row.object_id)
        return await self._gateway.retrieve_payment_intent(row.object_id)

    async def _customer_for(self, order_ref: str) -> str:
        """One Stripe Customer per order (so per purchase), shared by its deposit and balance charges.

        The recorded one; else one created under the key before a crash (found by its email, the oldest); else a
        new one. Whichever is recorded first is the order's: every attempt uses the row it gets back, so any other
        Customer under the key (made by an attempt that raced this one) has nothing attached and is used by nobody,
        and this attempt deletes those it made or saw.
        """
        key = customer_key(order_ref)
        recorded = await self._keys.get(key)
        if recorded is not None:
            return recorded.object_id
        # A Customer created under this key before a crash, before it could be recorded.
        seen = await self._gateway.find_customers(order_ref=order_ref, key=key)
        if not seen:
            seen = [await self._gateway.create_customer(order_ref=order_ref, key=key)]
        row = await self._keys.record(
            PaymentKeyCreate(key=key, object_type=PaymentObjectType.CUSTOMER, object_id=seen[0], order_ref=order_ref)
        )
        for extra in seen:
            if extra != row.object_id:
                await self._delete_unused_customer(extra, row.object_id)
        return row.object_id

    async def _delete_unused_customer(self, customer: str, recorded: str) -> None:
        """Delete a Customer the recorded one replaces; best effort, as an unused Customer is harmless."""
        try:
            await self._gateway.delete_customer(customer)
        except stripe.StripeError as error:  # already deleted by the attempt that saw it too, or Stripe is down
            activity.logger.warning("customer %s left unused for %s: %s", customer, recorded, error)
        else:
            activity.logger.warning("customer %s deleted, unused for %s", customer, recorded)

    async def _confirm(self, payment_intent: str, key: str) -> stripe.PaymentIntent:
        try:
            return await self._gateway.confirm_payment_intent(payment_intent, idempotency_key=f"{key}:confirm")
        except stripe.InvalidRequestError:
            # Refused because a concurrent attempt confirmed it first? Then its outcome is ours.
            intent = await self._gateway.retrieve_payment_intent(payment_intent)
            if intent.status == "requires_confirmation":
                raise
            return intent


def _charge_result(intent: stripe.PaymentIntent, input: ChargeInput) -> ChargeResult:
    """The result of a settled PaymentIntent, or the error that says why it is not (yet) paid."""
    if intent.status == "succeeded":
        activity.logger.info("charged %s: %s fen for order %s", intent.id, intent.amount, input.order_ref)
        return ChargeResult(payment_intent_id=intent.id, amount_fen=intent.amount, status=intent.status)
    if intent.status == "processing":
        raise ApplicationError(f"payment {intent.id} still processing", type=PAYMENT_PROCESSING)
    error = intent.last_payment_error
    code = _field(error, "code") or intent.status
    raise _declined(code, _field(error, "decline_code"), _field(error, "message") or f"payment {intent.status}")


_CHARGED = {"deposit": LedgerKind.DEPOSIT_CHARGED, "balance": LedgerKind.BALANCE_CHARGED}
_REFUNDED = {"deposit": LedgerKind.DEPOSIT_REFUNDED, "balance": LedgerKind.BALANCE_REFUNDED}


def _charged_at(intent: stripe.PaymentIntent) -> datetime | None:
    """When the card was charged, where Stripe says so (an expanded latest charge); else the caller's now."""
    charge = _field(intent, "latest_charge")
    created = _field(charge, "created") if charge is not None and not isinstance(charge, str) else None
    return _timestamp(created)


def _timestamp(epoch_s: int | None) -> datetime | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC)


def _declined(code: str | None, decline_code: str | None, message: str | None) -> ApplicationError:
    activity.logger.info("payment declined: %s %s", code, decline_code)
    return ApplicationError(
        f"payment declined: {message}",
        {"code": code, "decline_code": decline_code, "message": message},
        type=ErrorType.PAYMENT_DECLINED,
        non_retryable=True,
    )


@contextmanager
def _stripe_errors() -> Iterator[None]:
    """Turn Stripe's refusals into non-retryable errors; everything else (network, 5xx, 429) stays retryable."""
    try:
        yield
    except stripe.CardError as error:
        details = error.error
        raise _declined(error.code, _field(details, "decline_code"), _field(details, "message")) from error
    except stripe.IdempotencyError as error:
        raise ApplicationError(str(error), type=ErrorType.PARTNER_CONFLICT, non_retryable=True) from error
    except stripe.InvalidRequestError as error:
        raise ApplicationError(
            f"Stripe refused the request: {error.user_message or error.code}",
            {"code": error.code, "param": error.param, "http_status": error.http_status},
            type=ErrorType.PARTNER_REFUSED,
            non_retryable=True,
        ) from error


def _check_record(recorded: PaymentKey, object_type: PaymentObjectType, amount_fen: int) -> None:
    """A key reused for another kind of object or another amount is a caller's bug: refuse it."""
    if recorded.object_type != object_type or recorded.amount_fen != amount_fen:
        raise ApplicationError(
            f"key {recorded.key} was used for a {recorded.object_type} of {recorded.amount_fen} fen",
            type=ErrorType.PARTNER_CONFLICT,
            non_retryable=True,
        )


def _amount_paid(intent: stripe.PaymentIntent) -> int:
    """What the intent took from the card (localstripe has no amount_received: a succeeded intent took it all)."""
    if "amount_received" in intent:
        return intent.amount_received
    return intent.amount if intent.status == "succeeded" else 0


def _field(obj: Any, name: str) -> Any:
    """A field of a Stripe object that may be absent (localstripe leaves many out)."""
    return obj[name] if obj is not None and name in obj else None
