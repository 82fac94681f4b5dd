"""Every financing plan and both purchase modes run to completion on the time-skipping server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from carbuy.contract.activities import Activity, ChargeInput, SendNotificationInput
from carbuy.contract.order import FinancingPlan, PurchaseMode
from carbuy.contract.purchase import PurchaseStage, PurchaseState
from carbuy.domain.pricing import balance_due_fen
from tests.factories import purchase_input
from tests.workflows.driver import buy_until_handover, purchase_worker, skip_time, start, status, until
from tests.workflows.fakes import FakePartners


@pytest.mark.parametrize("plan", list(FinancingPlan))
async def test_every_plan_completes_from_deposit_to_first_service(ts_client: Client, plan: FinancingPlan) -> None:
    partners = FakePartners(ts_client)
    input = purchase_input(plan)
    async with purchase_worker(ts_client, partners) as queue:
        handle = await start(ts_client, queue, input)
        await buy_until_handover(handle, input)
        await until(handle, lambda s: s.stage == PurchaseStage.FIRST_SERVICE)
        result = await handle.result()
        final = await status(handle)

    assert result.state == PurchaseState.COMPLETED and result.stage == PurchaseStage.COMPLETED
    names = partners.names()
    assert (Activity.APPLY_FOR_LOAN in names) == plan.has_loan
    assert (Activity.DISBURSE_LOAN in names) == plan.has_loan
    assert (Activity.CREATE_BATTERY_CONTRACT in names) == plan.has_battery_lease
    assert (Activity.ACTIVATE_BATTERY_CONTRACT in names) == plan.has_battery_lease
    assert Activity.REFUND not in names
    charges = [arg for name, arg in partners.calls if name == Activity.CHARGE]
    assert [(c.kind, c.amount_fen) for c in charges] == [
        ("deposit", input.quote.deposit_fen),
        (
            "balance",
            balance_due_fen(
                input.quote, premium_fen=input.quote.premium_fen, loan_principal_fen=input.quote.loan_principal_fen
            ),
        ),
    ]
    assert all(isinstance(c, ChargeInput) and c.key.startswith(f"purchase-{input.order.order_id}:") for c in charges)
    assert final.mode == (PurchaseMode.BATTERY_LEASE if plan.has_battery_lease else PurchaseMode.WHOLE)
    assert final.plate and final.vin
    assert final.amounts.paid == sum(c.amount_fen for c in charges)


async def test_purchase_waits_ninety_days_for_the_first_service_and_reminds_before(
    time_skipping_env: WorkflowEnvironment,
) -> None:
    client = time_skipping_env.client
    partners = FakePartners(client)
    input = purchase_input(FinancingPlan.FULL)
    async with purchase_worker(client, partners) as queue:
        handle = await start(client, queue, input)
        await buy_until_handover(handle, input)
        before = await until(handle, lambda s: s.stage == PurchaseStage.FIRST_SERVICE and bool(s.waiting_for))

        def templates() -> list[str]:
            return [a.template for _, a in partners.calls if isinstance(a, SendNotificationInput)]

        assert "first_service_reminder" not in templates()

        await skip_time(time_skipping_env, handle, timedelta(days=84))
        after = await status(handle)
        assert after.stage == PurchaseStage.FIRST_SERVICE
        assert "first_service_reminder" in templates()
        assert after.timeline[-1].at - before.timeline[-1].at >= timedelta(days=83)

        result = await handle.result()
    assert result.state == PurchaseState.COMPLETED
