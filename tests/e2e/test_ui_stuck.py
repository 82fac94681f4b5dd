"""Ops in a real browser: the Temporal Web UI lists a stuck purchase and tells why; a retry through the API unsticks it.

Drives the Debian chromium (`/usr/bin/chromium`, installed by `make test` where missing) headless with
playwright; no browser is downloaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.async_api import Browser, FrameLocator, Page, expect
from temporalio.client import Client

from carbuy.contract.purchase import Branch
from tests.e2e.conftest import Stack
from tests.e2e.stuck import StuckPurchase, wait_for_attention
from tests.eventually import eventually

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
STUCK_IN_GUANGZHOU = "NeedsAttention = true AND City = 'Guangzhou'"


async def workflow_ids_listed(page: Page, ui_url: str, query: str) -> list[str]:
    """The workflow ids the UI's list shows for a visibility query (typed in the URL, as the query box does)."""
    await page.goto(f"{ui_url}/namespaces/default/workflows?query={quote(query)}", wait_until="networkidle")
    rows = page.get_by_role("link", name=re.compile(r"^purchase-"))
    empty = page.get_by_text(re.compile(r"No Workflows", re.IGNORECASE))
    await expect(rows.first.or_(empty)).to_be_visible(timeout=20_000)  # the list has loaded, rows or none
    return [text.strip() for text in await rows.all_inner_texts()]


def panel(page: Page, heading: str) -> FrameLocator:
    """The rendered markdown under one of the User Metadata tab's headings."""
    return page.frame_locator(f"xpath=//h3[normalize-space()='{heading}']/following::iframe[1]")


async def until_listed(page: Page, ui_url: str, workflow_id: str, *, listed: bool, timeout_s: float = 30) -> None:
    """Reload the list until the workflow is (or is no longer) in it: visibility is eventually consistent."""

    async def as_wanted() -> None:
        shown = workflow_id in await workflow_ids_listed(page, ui_url, STUCK_IN_GUANGZHOU)
        assert shown == listed, f"{workflow_id} listed={shown}"

    await eventually(as_wanted, timeout=timeout_s, interval=0.5)


async def test_ops_find_a_stuck_purchase_in_the_web_ui_read_why_and_a_retry_unsticks_it(
    stack: Stack,
    stuck_loan: StuckPurchase,
    browser: Browser,
    temporal: Client,
    api: httpx.AsyncClient,
    record_property: Callable[[str, object], None],
) -> None:
    ui_url = stack.settings.temporal.ui_url
    handle = temporal.get_workflow_handle(stuck_loan.workflow_id)
    summary = await (await handle.describe()).static_summary()
    assert summary and stuck_loan.order_id in summary
    page = await browser.new_page(viewport={"width": 1400, "height": 1000})

    await until_listed(page, ui_url, stuck_loan.workflow_id, listed=True)
    await page.get_by_role("link", name=stuck_loan.workflow_id).click()
    await expect(page.get_by_role("heading", name=stuck_loan.workflow_id)).to_be_visible(timeout=20_000)
    await page.get_by_role("tab", name="User Metadata").click()
    # the UI renders each markdown panel in its own iframe, under its heading
    shown_summary = panel(page, "Summary").get_by_text(summary, exact=True)
    await expect(shown_summary).to_be_visible(timeout=20_000)
    reason = panel(page, "Current Details").get_by_text(re.compile(r"SLA breached: waiting for the lender"))
    await expect(reason).to_be_visible(timeout=20_000)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "ui_stuck_purchase.png"
    await page.screenshot(path=str(screenshot))
    record_property("screenshot", str(screenshot))
    print(f"\nscreenshot of the stuck purchase in the Temporal UI: {screenshot}")  # noqa: T201

    async with httpx.AsyncClient(
        base_url=stack.api_url, timeout=60.0, headers={"Authorization": f"Bearer {stack.settings.api.ops_token}"}
    ) as ops:
        retried = await ops.post(
            f"/ops/purchases/{stuck_loan.order_id}/retry",
            json={"operator": "wang.fang", "reason": "the lender lost its answer: ask again"},
        )
    assert retried.status_code == 200 and retried.json()["accepted"] is True, retried.text

    await wait_for_attention(temporal, stuck_loan.workflow_id, needed=False, timeout_s=60)
    status = (await api.get(f"/purchases/{stuck_loan.order_id}")).json()
    [financing] = [b for b in status["branches"] if b["branch"] == Branch.FINANCING]
    assert financing["done"] is True and status["attention"]["needed"] is False, status
    await until_listed(page, ui_url, stuck_loan.workflow_id, listed=False)
    await page.close()
