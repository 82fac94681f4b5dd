"""The lender's settlement file: every disbursement and principal return of a day, and lines planted by tests."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from carbuy.domain.money import market_date
from tests.eventually import eventually
from tests.fixtures.sandbox import CallbackSink, SandboxControl

HEADER = ["day", "type", "reference", "application_id", "order_ref", "amount_fen", "occurred_at"]


@pytest.fixture
async def lender(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"{sandbox_url}/lender", timeout=5) as client:
        yield client


async def approved_application(lender: httpx.AsyncClient, order_ref: str, callback_url: str) -> dict[str, Any]:
    """A loan application of 80% of 89,900 CNY, once the sandbox has approved it."""
    body = {
        "order_ref": order_ref,
        "callback_url": callback_url,
        "applicant_name": "Han Meimei",
        "applicant_id_number": "11010519491231002X",
        "vehicle_price_fen": 8_990_000,
        "down_payment_fen": 1_798_000,
        "term_months": 36,
    }
    created = await lender.post("/applications", json=body, headers={"Idempotency-Key": f"{order_ref}:apply"})
    assert created.status_code == 201, created.text
    application_id = created.json()["application_id"]

    async def approved() -> dict[str, Any]:
        shown: dict[str, Any] = (await lender.get(f"/applications/{application_id}")).json()
        assert shown["status"] == "approved", f"application {application_id} not approved: {shown}"
        return shown

    return await eventually(approved, interval=0.02)


async def disburse(lender: httpx.AsyncClient, application: dict[str, Any], amount_fen: int, key: str) -> httpx.Response:
    return await lender.post(
        f"/applications/{application['application_id']}/disbursements",
        json={"order_ref": application["order_ref"], "amount_fen": amount_fen},
        headers={"Idempotency-Key": key},
    )


async def settlement_rows(lender: httpx.AsyncClient, day: date, order_ref: str) -> list[dict[str, str]]:
    response = await lender.get(f"/settlements/{day.isoformat()}.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames == HEADER
    return [row for row in reader if row["order_ref"] == order_ref]


def today() -> date:
    return market_date(datetime.now(UTC))


async def test_a_disbursement_is_a_line_of_the_day_it_was_paid(
    lender: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    application = await approved_application(lender, order_ref, callback_sink.url)

    paid = await disburse(lender, application, application["principal_fen"], f"{order_ref}:disburse")
    again = await disburse(lender, application, application["principal_fen"], f"{order_ref}:disburse")
    rows = await settlement_rows(lender, today(), order_ref)

    assert again.json() == paid.json()
    assert rows == [
        {
            "day": today().isoformat(),
            "type": "disbursement",
            "reference": paid.json()["disbursement_id"],
            "application_id": application["application_id"],
            "order_ref": order_ref,
            "amount_fen": str(application["principal_fen"]),
            "occurred_at": rows[0]["occurred_at"],
        }
    ]
    assert market_date(datetime.fromisoformat(rows[0]["occurred_at"])) == today()


async def test_cancelling_a_disbursed_application_adds_a_return_line(
    lender: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    application = await approved_application(lender, order_ref, callback_sink.url)
    await disburse(lender, application, 5_000_000, f"{order_ref}:disburse-1")
    await disburse(lender, application, 2_192_000, f"{order_ref}:disburse-2")

    cancelled = await lender.post(
        f"/applications/{application['application_id']}/cancel",
        json={"order_ref": order_ref},
        headers={"Idempotency-Key": f"{order_ref}:cancel"},
    )
    await lender.post(
        f"/applications/{application['application_id']}/cancel",
        json={"order_ref": order_ref},
        headers={"Idempotency-Key": f"{order_ref}:cancel-again"},
    )
    rows = await settlement_rows(lender, today(), order_ref)

    assert cancelled.json()["principal_returned_fen"] == 7_192_000
    assert [(r["type"], r["amount_fen"]) for r in rows] == [
        ("disbursement", "5000000"),
        ("disbursement", "2192000"),
        ("return", "7192000"),
    ]
    assert rows[2]["application_id"] == application["application_id"]
    assert rows[2]["reference"].startswith("ret_")


async def test_cancelling_an_application_never_disbursed_returns_nothing(
    lender: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    application = await approved_application(lender, order_ref, callback_sink.url)

    await lender.post(
        f"/applications/{application['application_id']}/cancel",
        json={"order_ref": order_ref},
        headers={"Idempotency-Key": f"{order_ref}:cancel"},
    )

    assert await settlement_rows(lender, today(), order_ref) == []


async def test_another_days_file_does_not_list_todays_movements(
    lender: httpx.AsyncClient, sandbox: SandboxControl, callback_sink: CallbackSink
) -> None:
    order_ref = sandbox.new_order_ref()
    application = await approved_application(lender, order_ref, callback_sink.url)
    await disburse(lender, application, 1_000_000, f"{order_ref}:disburse")

    assert await settlement_rows(lender, today() - timedelta(days=1), order_ref) == []
    assert await settlement_rows(lender, today() + timedelta(days=1), order_ref) == []
    assert len(await settlement_rows(lender, today(), order_ref)) == 1


async def test_a_planted_line_appears_in_the_file_of_its_day_only(
    lender: httpx.AsyncClient, sandbox: SandboxControl
) -> None:
    order_ref = sandbox.new_order_ref()
    day = date(2026, 3, 14)

    planted = await sandbox.http.post(
        "/_sandbox/lender/settlement-lines",
        json={
            "day": day.isoformat(),
            "type": "disbursement",
            "order_ref": order_ref,
            "application_id": "loan_x",
            "amount_fen": 123_456,
            "reference": "disb_repeated",
        },
    )
    rows = await settlement_rows(lender, day, order_ref)

    assert planted.status_code == 201, planted.text
    assert [(r["type"], r["reference"], r["amount_fen"], r["application_id"]) for r in rows] == [
        ("disbursement", "disb_repeated", "123456", "loan_x")
    ]
    assert await settlement_rows(lender, day + timedelta(days=1), order_ref) == []


async def test_a_day_that_is_not_a_date_is_a_bad_request(lender: httpx.AsyncClient) -> None:
    response = await lender.get("/settlements/yesterday.csv")

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request"
