"""Customer PII is encrypted in every history; the codec server decodes only for ops; the CLI decodes via it."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections import Counter

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.history.v1 import History
from temporalio.client import Client

from carbuy.contract.order import FinancingPlan
from carbuy.contract.purchase import PurchaseStage, purchase_workflow_id
from carbuy.devtools.demo import DEMO_ID_CARD, DemoCustomer, demo_order
from carbuy.devtools.processes import bin_path
from carbuy.runtime.codec import ENCODING, WORKFLOW_ID, is_clear, never_encoded, payloads_in
from starter.codec_server import SESSION_COOKIE
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

CUSTOMER = {
    "name": "Zhao Minghui",
    "id_card_number": DEMO_ID_CARD,
    "phone": "13912345678",
    "email": "zhao.minghui@example.com",
}
PII = [CUSTOMER["name"], CUSTOMER["id_card_number"], CUSTOMER["phone"], CUSTOMER["email"]]


@pytest.fixture(scope="module")
async def completed(stack: Stack) -> str:
    """A loan purchase (documents, lender, insurance, registration, notifications) completed over HTTP."""
    lines: list[str] = []
    customer = DemoCustomer(stack.settings, stack.api_url, lines.append)
    try:
        order_id = await customer.place({**demo_order(FinancingPlan.LOAN), "customer": CUSTOMER})
        final = await customer.buy(order_id, timeout_s=180)
    finally:
        await customer.aclose()
    assert final.stage == PurchaseStage.COMPLETED, "\n".join(lines)
    return purchase_workflow_id(order_id)


async def test_the_raw_history_of_a_completed_purchase_holds_no_pii_and_every_payload_is_encrypted(
    completed: str, temporal: Client
) -> None:
    history = await temporal.get_workflow_handle(completed).fetch_history()  # raw events: no codec applies
    found = [(path, p, event) for event in history.events for path, p in payloads_in(event)]
    payloads = [p for _, p, _ in found]
    kinds = Counter(
        "search attribute or patch marker"
        if never_encoded(path, event)
        else "public (summary, details, memo, metadata query)"
        if is_clear(p)
        else p.metadata.get("encoding", b"?").decode()
        for path, p, event in found
    )
    assert kinds[ENCODING.decode()] >= 40, kinds
    plain = [
        (event.WhichOneof("attributes"), path, bytes(p.data[:80]))
        for path, p, event in found
        if not never_encoded(path, event) and not is_clear(p) and p.metadata.get("encoding") != ENCODING
    ]
    assert not plain, plain
    assert set(kinds) <= {
        ENCODING.decode(),
        "public (summary, details, memo, metadata query)",
        "search attribute or patch marker",
    }, kinds
    encrypted = [p for p in payloads if p.metadata.get("encoding") == ENCODING]
    assert all(p.metadata.get(WORKFLOW_ID) == completed.encode() for p in encrypted)
    raw = history.to_json()
    for value in PII:
        assert value not in raw, f"{value!r} is in the history's JSON"
        assert not [p for p in payloads if value.encode() in p.SerializeToString()], f"{value!r} in a payload"


async def test_the_codec_server_decodes_only_for_ops(stack: Stack, completed: str, temporal: Client) -> None:
    history = await temporal.get_workflow_handle(completed).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes.input
    body = json_format.MessageToJson(started)
    url = f"{stack.dev.codec_url}/decode"
    api = stack.settings.api
    async with httpx.AsyncClient(timeout=30) as http:
        nobody = await http.post(url, content=body, headers={"X-Namespace": "default"})
        backend = await http.post(url, content=body, headers={"Authorization": f"Bearer {api.backend_token}"})
        wrong = await http.post(url, content=body, headers={"Authorization": "Bearer not-a-token"})
        ops = await http.post(url, content=body, headers={"Authorization": f"Bearer {api.ops_token}"})
        garbage = await http.post(url, content=b"{not json", headers={"Authorization": f"Bearer {api.ops_token}"})
    assert [nobody.status_code, backend.status_code, wrong.status_code] == [401, 403, 401]
    for refused in (nobody, backend, wrong):
        assert "Zhao" not in refused.text and CUSTOMER["id_card_number"] not in refused.text
    assert ops.status_code == 200
    (decoded,) = json_format.Parse(ops.text, Payloads()).payloads
    assert decoded.metadata["encoding"] == b"json/plain"
    assert json.loads(decoded.data)["order"]["customer"]["id_card_number"] == CUSTOMER["id_card_number"]
    assert garbage.status_code == 400
    log = (stack.dev.state_dir / "logs" / "codec-server.log").read_text()
    assert f"decode by ops (bearer) namespace=None workflows={completed}" in log


async def test_a_browser_session_decodes_and_cors_admits_only_the_web_ui(
    stack: Stack, completed: str, temporal: Client
) -> None:
    history = await temporal.get_workflow_handle(completed).fetch_history()
    body = json_format.MessageToJson(history.events[0].workflow_execution_started_event_attributes.input)
    base = stack.dev.codec_url
    ui_origin = stack.settings.temporal.ui_url
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        refused = await http.post("/login", data={"token": stack.settings.api.backend_token})
        assert refused.status_code == 401 and SESSION_COOKIE not in refused.cookies
        signed_in = await http.post("/login", data={"token": stack.settings.api.ops_token})
        assert signed_in.status_code == 200 and 'id="signed-in"' in signed_in.text
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        decoded = await http.post("/decode", content=body, headers={"Origin": ui_origin, "X-Namespace": "default"})
        assert decoded.status_code == 200
        (payload,) = json_format.Parse(decoded.text, Payloads()).payloads
        assert json.loads(payload.data)["order"]["customer"]["name"] == "Zhao Minghui"
        assert decoded.headers["access-control-allow-origin"] == ui_origin
        assert decoded.headers["access-control-allow-credentials"] == "true"
        preflight = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        }
        allowed = await http.options("/decode", headers={"Origin": ui_origin, **preflight})
        other = await http.options("/decode", headers={"Origin": "http://evil.example", **preflight})
        tampered = httpx.Cookies({SESSION_COOKIE: http.cookies[SESSION_COOKIE][:-4] + "AAAA"})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ui_origin
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    async with httpx.AsyncClient(base_url=base, timeout=30, cookies=tampered) as forged:
        assert (await forged.post("/decode", content=body)).status_code == 401
    log = (stack.dev.state_dir / "logs" / "codec-server.log").read_text()
    assert f"decode by ops (browser session) namespace=default workflows={completed}" in log


def started_input(shown: str) -> Payload:
    """The workflow input in `temporal workflow show -o json` output (payloads in protobuf JSON)."""
    history = History()
    json_format.Parse(shown, history, ignore_unknown_fields=True)
    return history.events[0].workflow_execution_started_event_attributes.input.payloads[0]


async def test_the_temporal_cli_decodes_through_the_profile_the_dev_stack_writes(stack: Stack, completed: str) -> None:
    argv = [bin_path("temporal"), "workflow", "show", "-w", completed, "-o", "json"]
    profile = ["--config-file", str(stack.dev.profile_file), "--profile", "carbuy"]
    decoded = await asyncio.to_thread(subprocess.run, [*argv, *profile], capture_output=True, text=True, timeout=60)
    assert decoded.returncode == 0, decoded.stderr
    assert json.loads(started_input(decoded.stdout).data)["order"]["customer"]["name"] == "Zhao Minghui"
    raw = await asyncio.to_thread(
        subprocess.run,
        [*argv, "--address", stack.settings.temporal.address, "--disable-config-file"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert raw.returncode == 0, raw.stderr
    assert started_input(raw.stdout).metadata["encoding"] == ENCODING
