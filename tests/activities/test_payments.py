"""The payment activities against a real localstripe: one charge and one refund per key, whatever happens."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import stripe
from sqlalchemy import Engine
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.payments import REFUND_EXCEEDS_PAYMENT, PaymentActivities, customer_key
from activities.stripe_gateway import StripeGateway, customer_email
from carbuy.contract.activities import ChargeInput, RefundInput
from carbuy.contract.purchase import ErrorType
from carbuy.devtools.processes import free_port
from carbuy.devtools.stripe_cards import DECLINED_CARD, DECLINED_ON_CHARGE_CARD, GOOD_CARD, create_test_payment_method
from carbuy.runtime.settings import DatabaseSettings, Settings, StripeSettings
from carbuy.store.db import make_engine, migrate
from carbuy.store.ledger import LedgerStore
from carbuy.store.payment_keys import PaymentKeyCreate, PaymentKeyStore, PaymentObjectType
from tests.store.conftest import postgres_schema

DEPOSIT_FEN = 10_000


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The test's own database, with its tables."""
    engine = make_engine(DatabaseSettings(url=db_url))
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database of the test's own on each database carbuy supports, for the racing-record tests."""
    with ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'carbuy.db'}"
            if request.param == "sqlite"
            else stack.enter_context(postgres_schema())
        )
        engine = make_engine(DatabaseSettings(url=url))
        migrate(engine)
        yield engine
        engine.dispose()


@pytest.fixture
async def gateway(stripe_settings: StripeSettings) -> AsyncIterator[StripeGateway]:
    """A gateway to localstripe, for the tests that play a crash half-way through an activity."""
    gateway = StripeGateway(stripe_settings)
    yield gateway
    await gateway.aclose()


@pytest.fixture
async def payments(stripe_settings: StripeSettings, engine: Engine) -> AsyncIterator[PaymentActivities]:
    """The activities under test, on the test's database."""
    activities = PaymentActivities(
        gateway=StripeGateway(stripe_settings), keys=PaymentKeyStore(engine), ledger=LedgerStore(engine)
    )
    yield activities
    await activities.aclose()


@pytest.fixture
async def stripe_api(stripe_settings: StripeSettings) -> AsyncIterator[stripe.StripeClient]:
    """A plain Stripe client, to check what localstripe holds."""
    http = stripe.HTTPXClient()
    yield stripe.StripeClient(
        stripe_settings.api_key, base_addresses={"api": stripe_settings.api_base}, http_client=http
    )
    await http.close_async()  # type: ignore[no-untyped-call]


def charge_input(stripe_settings: StripeSettings, *, card: str = GOOD_CARD, **changes: object) -> ChargeInput:
    """A deposit charge for a new order, with a fresh payment method."""
    order_ref = f"ORD-{uuid.uuid4().hex[:10]}"
    fields: dict[str, object] = {
        "key": f"purchase-{order_ref}:deposit",
        "order_ref": order_ref,
        "kind": "deposit",
        "amount_fen": DEPOSIT_FEN,
        "payment_method": create_test_payment_method(stripe_settings, card_number=card),
        "description": "deposit",
    }
    return ChargeInput.model_validate({**fields, **changes})


def refund_input(charge: ChargeInput, payment_intent_id: str, *, amount_fen: int, step: str) -> RefundInput:
    """A refund of a charge under a key of its own."""
    return RefundInput(
        key=f"{charge.key}:refund:{step}",
        order_ref=charge.order_ref,
        kind="deposit",
        payment_intent_id=payment_intent_id,
        amount_fen=amount_fen,
        reason="customer request",
    )


async def intents_for(api: stripe.StripeClient, key: str) -> list[stripe.PaymentIntent]:
    """The PaymentIntents made for a key (localstripe cannot filter, so we do)."""
    page = await api.v1.payment_intents.list_async({"limit": 100})
    return [intent async for intent in page.auto_paging_iter() if intent.metadata.to_dict().get("key") == key]


async def refunds_of(api: stripe.StripeClient, payment_intent_id: str) -> list[stripe.Refund]:
    """The refunds of a PaymentIntent."""
    page = await api.v1.refunds.list_async({"payment_intent": payment_intent_id, "limit": 100})
    return [refund async for refund in page.auto_paging_iter()]


async def customers_of(api: stripe.StripeClient, order_ref: str) -> list[str]:
    """The Customers localstripe holds for an order by their metadata, whatever their email (oldest first)."""
    page = await api.v1.customers.list_async({"limit": 100})
    found = [
        c async for c in page.auto_paging_iter() if c.metadata and c.metadata.to_dict().get("order_ref") == order_ref
    ]
    return [c.id for c in sorted(found, key=lambda c: (c.created, c.id))]


async def customers_with_email(api: stripe.StripeClient, email: str) -> list[str]:
    """The Customers localstripe lists for an email."""
    page = await api.v1.customers.list_async({"email": email, "limit": 100})
    return [c.id async for c in page.auto_paging_iter()]


async def customer_of_intent(api: stripe.StripeClient, payment_intent_id: str) -> str | None:
    """The Customer a PaymentIntent is for."""
    intent = await api.v1.payment_intents.retrieve_async(payment_intent_id)
    customer = intent.customer
    return customer if customer is None or isinstance(customer, str) else customer.id


def balance_of(deposit: ChargeInput, stripe_settings: StripeSettings) -> ChargeInput:
    """The balance charge of the deposit's order, with a card of its own."""
    return deposit.model_copy(
        update={
            "key": f"purchase-{deposit.order_ref}:balance",
            "kind": "balance",
            "amount_fen": 3 * DEPOSIT_FEN,
            "payment_method": create_test_payment_method(stripe_settings, card_number=GOOD_CARD),
            "description": "balance",
        }
    )


class RacingGateway(StripeGateway):
    """A gateway whose lookups of customers all answer only once `attempts` of them have looked: all find none."""

    def __init__(self, settings: StripeSettings, *, attempts: int) -> None:
        super().__init__(settings)
        self._looked = asyncio.Barrier(attempts)
        self.created: list[str] = []

    async def find_customers(self, *, order_ref: str, key: str) -> list[str]:
        found = await super().find_customers(order_ref=order_ref, key=key)
        async with asyncio.timeout(10):
            await self._looked.wait()
        return found

    async def create_customer(self, *, order_ref: str, key: str) -> str:
        customer = await super().create_customer(order_ref=order_ref, key=key)
        self.created.append(customer)
        return customer


async def test_a_charge_succeeds_once_for_the_amount_in_cny(
    payments: PaymentActivities, stripe_settings: StripeSettings, stripe_api: stripe.StripeClient
) -> None:
    charge = charge_input(stripe_settings)

    result = await ActivityEnvironment().run(payments.charge_payment, charge)

    assert (result.status, result.amount_fen) == ("succeeded", DEPOSIT_FEN)
    [intent] = await intents_for(stripe_api, charge.key)
    assert (intent.id, intent.status, intent.amount, intent.currency) == (
        result.payment_intent_id,
        "succeeded",
        DEPOSIT_FEN,
        "cny",
    )
    assert intent.metadata["order_ref"] == charge.order_ref and intent.metadata["kind"] == "deposit"


async def test_charging_the_same_key_twice_charges_once(
    payments: PaymentActivities, stripe_settings: StripeSettings, stripe_api: stripe.StripeClient
) -> None:
    charge = charge_input(stripe_settings)

    first = await ActivityEnvironment().run(payments.charge_payment, charge)
    second = await ActivityEnvironment().run(payments.charge_payment, charge)

    assert first == second
    assert [i.id for i in await intents_for(stripe_api, charge.key)] == [first.payment_intent_id]


async def test_concurrent_attempts_with_one_key_charge_once(
    payments: PaymentActivities, stripe_settings: StripeSettings, stripe_api: stripe.StripeClient
) -> None:
    charge = charge_input(stripe_settings)

    results = await asyncio.gather(*(ActivityEnvironment().run(payments.charge_payment, charge) for _ in range(3)))

    assert len({r.payment_intent_id for r in results}) == 1
    succeeded = [i for i in await intents_for(stripe_api, charge.key) if i.status == "succeeded"]
    assert [i.id for i in succeeded] == [results[0].payment_intent_id]


async def test_a_crash_between_create_and_confirm_is_resumed_by_confirming_the_recorded_intent(
    payments: PaymentActivities,
    gateway: StripeGateway,
    engine: Engine,
    stripe_settings: StripeSettings,
    stripe_api: stripe.StripeClient,
) -> None:
    charge = charge_input(stripe_settings)
    customer = await gateway.create_customer(order_ref=charge.order_ref, key="crash:customer")
    await gateway.attach_payment_method(
        payment_method=charge.payment_method, customer=customer, idempotency_key="crash:attach"
    )
    created = await gateway.create_payment_intent(
        amount_fen=charge.amount_fen,
        customer=customer,
        payment_method=charge.payment_method,
        metadata={"order_ref": charge.order_ref, "kind": charge.kind, "key": charge.key},
        idempotency_key=charge.key,
    )
    await PaymentKeyStore(engine).record(
        PaymentKeyCreate(
            key=charge.key,
            object_type=PaymentObjectType.PAYMENT_INTENT,
            object_id=created.id,
            order_ref=charge.order_ref,
            amount_fen=charge.amount_fen,
        )
    )
    assert created.status == "requires_confirmation"

    result = await ActivityEnvironment().run(payments.charge_payment, charge)

    assert (result.payment_intent_id, result.status) == (created.id, "succeeded")
    assert [(i.id, i.status) for i in await intents_for(stripe_api, charge.key)] == [(created.id, "succeeded")]


async def test_a_declined_card_fails_for_good_and_charges_nothing(
    payments: PaymentActivities, stripe_settings: StripeSettings, stripe_api: stripe.StripeClient
) -> None:
    charge = charge_input(stripe_settings, card=DECLINED_CARD)

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(payments.charge_payment, charge)

    assert (raised.value.type, raised.value.non_retryable) == (ErrorType.PAYMENT_DECLINED, True)
    assert raised.value.details[0]["code"] == "card_declined"
    assert [i for i in await intents_for(stripe_api, charge.key) if i.status == "succeeded"] == []


async def test_a_card_declined_at_confirmation_stays_declined_when_retried(
    payments: PaymentActivities, stripe_settings: StripeSettings, stripe_api: stripe.StripeClient
) -> None:
    charge = charge_input(stripe_settings, card=DECLINED_ON_CHARGE_CARD)

    for _ in range(2):
        with pytest.raises(ApplicationError) as raised:
            await ActivityEnvironment().run(payments.charge_payment, charge)
        assert (raised.value.type, raised.value.non_retryable) == (ErrorType.PAYMENT_DECLINED, True)
        assert raised.value.details[0]["code"] == "card_declined"

    assert [i.status for i in await intents_for(stripe_api, charge.key)] == ["requires_payment_method"]


async def test_a_key_reused_for_another_amount_is_refused(
    payments: PaymentActivities, stripe_settings: StripeSettings
) -> None:
    charge = charge_input(stripe_settings)
    await ActivityEnvironment().run(payments.charge_payment, charge)

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(payments.charge_payment, charge.model_copy(update={"amount_fen": 20_000}))

    assert (raised.value.type, raised.value.non_retryable) == (ErrorType.PARTNER_CONFLICT, True)


async def test_refunding_twice_with_one_key_refunds_once(
    payments: PaymentActivities, stripe_settings: StripeSettings, stripe_api: stripe.StripeClient
) -> None:
    charge = charge_input(stripe_settings)
    paid = await ActivityEnvironment().run(payments.charge_payment, charge)
    refund = refund_input(charge, paid.payment_intent_id, amount_fen=4_000, step="cancel")

    first = await ActivityEnvironment().run(payments.refund_payment, refund)
    second = await ActivityEnvironment().run(payments.refund_payment, refund)

    assert first == second and first.amount_fen == 4_000
    refunds = await refunds_of(stripe_api, paid.payment_intent_id)
    assert [(r.id, r.amount) for r in refunds] == [(first.refund_id, 4_000)]


async def test_a_refund_made_before_a_crash_is_found_not_repeated(
    payments: PaymentActivities,
    gateway: StripeGateway,
    stripe_settings: StripeSettings,
    stripe_api: stripe.StripeClient,
) -> None:
    charge = charge_input(stripe_settings)
    paid = await ActivityEnvironment().run(payments.charge_payment, charge)
    refund = refund_input(charge, paid.payment_intent_id, amount_fen=DEPOSIT_FEN, step="expire")
    made = await gateway.create_refund(
        payment_intent=paid.payment_intent_id,
        amount_fen=refund.amount_fen,
        metadata={"order_ref": refund.order_ref, "key": refund.key},
        idempotency_key=refund.key,
    )

    result = await ActivityEnvironment().run(payments.refund_payment, refund)

    assert result.refund_id == made.id
    assert [r.id for r in await refunds_of(stripe_api, paid.payment_intent_id)] == [made.id]


async def test_a_refund_above_what_was_paid_is_refused_and_refunds_nothing(
    payments: PaymentActivities, stripe_settings: StripeSettings, stripe_api: stripe.StripeClient
) -> None:
    charge = charge_input(stripe_settings)
    paid = await ActivityEnvironment().run(payments.charge_payment, charge)

    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(
            payments.refund_payment, refund_input(charge, paid.payment_intent_id, amount_fen=DEPOSIT_FEN + 1, step="x")
        )

    assert (raised.value.type, raised.value.non_retryable) == (REFUND_EXCEEDS_PAYMENT, True)
    assert raised.value.details[0] == {"requested_fen": DEPOSIT_FEN + 1, "refundable_fen": DEPOSIT_FEN}
    assert await refunds_of(stripe_api, paid.payment_intent_id) == []


async def test_partial_refunds_add_up_to_at_most_the_payment(
    payments: PaymentActivities, stripe_settings: StripeSettings, stripe_api: stripe.StripeClient
) -> None:
    charge = charge_input(stripe_settings)
    paid = await ActivityEnvironment().run(payments.charge_payment, charge)
    env = ActivityEnvironment()

    await env.run(payments.refund_payment, refund_input(charge, paid.payment_intent_id, amount_fen=6_000, step="a"))
    await env.run(payments.refund_payment, refund_input(charge, paid.payment_intent_id, amount_fen=4_000, step="b"))
    with pytest.raises(ApplicationError) as raised:
        await env.run(payments.refund_payment, refund_input(charge, paid.payment_intent_id, amount_fen=1, step="c"))

    assert raised.value.type == REFUND_EXCEEDS_PAYMENT
    assert raised.value.details[0]["refundable_fen"] == 0
    assert sum(r.amount for r in await refunds_of(stripe_api, paid.payment_intent_id)) == DEPOSIT_FEN


async def test_an_unreachable_stripe_raises_an_error_temporal_retries(
    stripe_settings: StripeSettings, db_url: str
) -> None:
    charge = charge_input(stripe_settings)
    unreachable = stripe_settings.model_copy(update={"api_base": f"http://127.0.0.1:{free_port()}"})
    payments = PaymentActivities.from_settings(Settings(stripe=unreachable, db=DatabaseSettings(url=db_url)))
    refund = refund_input(charge, "pi_unknown", amount_fen=100, step="down")
    try:
        # Plain exceptions, not non-retryable ApplicationErrors: Temporal retries them.
        with pytest.raises(stripe.APIConnectionError):
            await ActivityEnvironment().run(payments.charge_payment, charge)
        with pytest.raises(stripe.APIConnectionError):
            await ActivityEnvironment().run(payments.refund_payment, refund)
    finally:
        await payments.aclose()


def test_a_customer_email_is_a_lowercase_invalid_address_distinct_per_order_ref() -> None:
    email = customer_email("CHAOS-2026-00522")
    local, domain = email.split("@")

    assert re.fullmatch(r"chaos-2026-00522\.[0-9a-f]{12}", local) and domain == "orders.carbuy.invalid"
    assert customer_email("CHAOS-2026-00522") == email
    assert customer_email("chaos-2026-00522") != email  # order ids may differ only in case
    for odd in ("a b@c.d", "\u8ba2\u5355-1", "x" * 64 + "-tail", ""):
        local = customer_email(odd).split("@")[0]
        assert re.fullmatch(r"[a-z0-9_-]{1,40}\.[0-9a-f]{12}", local), odd


async def test_a_customer_created_before_a_crash_is_found_not_made_again(
    any_engine: Engine, stripe_settings: StripeSettings, gateway: StripeGateway, stripe_api: stripe.StripeClient
) -> None:
    charge = charge_input(stripe_settings)
    # What _customer_for sends before a crash kills the worker, leaving nothing recorded.
    made = await gateway.create_customer(order_ref=charge.order_ref, key=customer_key(charge.order_ref))
    payments = PaymentActivities(
        gateway=StripeGateway(stripe_settings), keys=PaymentKeyStore(any_engine), ledger=LedgerStore(any_engine)
    )
    try:
        result = await ActivityEnvironment().run(payments.charge_payment, charge)
    finally:
        await payments.aclose()

    assert await customers_of(stripe_api, charge.order_ref) == [made]
    assert await customers_with_email(stripe_api, customer_email(charge.order_ref)) == [made]
    assert await customer_of_intent(stripe_api, result.payment_intent_id) == made
    recorded = await PaymentKeyStore(any_engine).get(customer_key(charge.order_ref))
    assert recorded is not None and (recorded.object_type, recorded.object_id) == ("customer", made)


async def test_the_deposit_and_the_balance_of_one_order_share_one_customer(
    payments: PaymentActivities, stripe_settings: StripeSettings, stripe_api: stripe.StripeClient
) -> None:
    deposit = charge_input(stripe_settings)
    balance = balance_of(deposit, stripe_settings)

    paid = [await ActivityEnvironment().run(payments.charge_payment, charge) for charge in (deposit, balance)]

    [customer] = await customers_of(stripe_api, deposit.order_ref)
    assert await customers_with_email(stripe_api, customer_email(deposit.order_ref)) == [customer]
    assert [await customer_of_intent(stripe_api, p.payment_intent_id) for p in paid] == [customer, customer]


async def test_charges_racing_to_make_an_order_customer_keep_the_recorded_one_only(
    any_engine: Engine, stripe_settings: StripeSettings, stripe_api: stripe.StripeClient
) -> None:
    deposit = charge_input(stripe_settings)
    balance = balance_of(deposit, stripe_settings)
    racing = RacingGateway(stripe_settings, attempts=2)
    payments = PaymentActivities(gateway=racing, keys=PaymentKeyStore(any_engine), ledger=LedgerStore(any_engine))
    try:
        paid = await asyncio.gather(
            *(ActivityEnvironment().run(payments.charge_payment, charge) for charge in (deposit, balance))
        )
    finally:
        await payments.aclose()

    assert len(set(racing.created)) == 2  # both looked, found none and made one
    recorded = await PaymentKeyStore(any_engine).get(customer_key(deposit.order_ref))
    assert recorded is not None and recorded.object_id in racing.created
    assert await customers_of(stripe_api, deposit.order_ref) == [recorded.object_id]  # the other one is deleted
    assert [await customer_of_intent(stripe_api, p.payment_intent_id) for p in paid] == [recorded.object_id] * 2
