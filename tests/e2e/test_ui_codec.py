"""The Web UI decodes a purchase's encrypted input through the codec server, in a real browser, for ops only.

The dev server's UI cannot be told to send cookies to the codec server (`start-dev` has no flag for the UI's
`includeCredentials`), so the person sets it once in the UI's "Codec Server" settings, which the UI keeps in the
browser's localStorage; the test sets the same keys. Signing in at the codec server's /login gives the session
cookie those requests then carry.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import purchase_workflow_id
from carbuy.devtools.demo import DemoCustomer, demo_order
from tests.e2e.conftest import Stack
from tests.e2e.test_encryption import CUSTOMER

pytestmark = pytest.mark.e2e

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def codec_override(endpoint: str) -> str:
    """The UI's browser-side codec settings ("use my browser setting", "include cross-origin credentials")."""
    return (
        "localStorage.setItem('overrideRemoteCodecConfiguration', 'true');"
        f"localStorage.setItem('endpoint', JSON.stringify('{endpoint}'));"
        "localStorage.setItem('includeCredentials', 'true');"
        "localStorage.setItem('passAccessToken', 'false');"
    )


@pytest.fixture(scope="module")
async def placed(stack: Stack) -> str:
    """A purchase whose input (the customer's name among it) is encrypted in its history."""
    customer = DemoCustomer(stack.settings, stack.api_url, lambda _: None)
    try:
        order_id = await customer.place({**demo_order(FinancingPlan.FULL), "customer": CUSTOMER})
    finally:
        await customer.aclose()
    return purchase_workflow_id(order_id)


@pytest.fixture
async def page(browser: Browser, stack: Stack) -> AsyncIterator[Page]:
    """A page in a fresh browser context whose Web UI codec settings point at the codec server, with cookies."""
    context = await browser.new_context()
    await context.add_init_script(codec_override(stack.dev.codec_url))
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def test_ops_signed_in_at_the_codec_server_read_the_decoded_order_input_in_the_web_ui(
    stack: Stack, placed: str, page: Page
) -> None:
    await page.goto(f"{stack.dev.codec_url}/login")
    await page.get_by_label("Ops token").fill(stack.settings.api.ops_token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#signed-in")).to_contain_text("ops")

    await page.goto(f"{stack.settings.temporal.ui_url}/namespaces/default/workflows/{placed}")
    await expect(page.get_by_text(CUSTOMER["name"]).first).to_be_visible(timeout=30_000)
    await expect(page.get_by_test_id("data-encoder-status-success").first).to_be_attached()
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "web-ui-decoded-input.png"), full_page=True)


async def test_without_signing_in_the_web_ui_shows_the_encrypted_input_and_the_codec_error(
    stack: Stack, placed: str, page: Page
) -> None:
    await page.goto(f"{stack.settings.temporal.ui_url}/namespaces/default/workflows/{placed}")
    banner = page.get_by_text("Codec Server could not connect").filter(visible=True)
    await expect(banner.first).to_be_visible(timeout=30_000)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / "web-ui-without-codec-login.png"), full_page=True)
    content = await page.content()
    assert CUSTOMER["name"] not in content and CUSTOMER["id_card_number"] not in content
