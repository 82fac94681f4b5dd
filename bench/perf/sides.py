"""What the placement and parked scenarios share: each side's stack, and the backend's calls on the carbuy side.

The bare side is the vendored baseline's own `Stack` (its dev server and `baseline.py _worker`), built with the
fields its `main()` would give it; the carbuy side is a fresh bench stack (bench/perf/stack.py `running_bench_stack`).
"""

from __future__ import annotations

import asyncio
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

from prometheus_client.parser import text_string_to_metric_families

from bench.bare import baseline
from bench.perf.customer import create_payment_methods
from carbuy.client.api import StarterClient
from carbuy.contract.order import FinancingPlan
from carbuy.devtools.demo import demo_order
from carbuy.devtools.devstack import DevStack
from carbuy.devtools.processes import bin_path


class UnitError(Exception):
    """A unit of work answered, but not what it should have (a non-2xx status or an unexpected result)."""


def new_tag(prefix: str) -> str:
    """A fresh name for a stack's files under the workdir."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def bare_args(workdir: str | Path) -> SimpleNamespace:
    """The fields `baseline.Stack` reads, as the baseline's main() defaults them (a free port, no dynamic config)."""
    return SimpleNamespace(temporal=bin_path("temporal"), workdir=str(workdir), port=0, dynamic_config=None)


@asynccontextmanager
async def bare_stack(workdir: str | Path, tag: str) -> AsyncIterator[baseline.Stack]:
    """A started baseline stack (dev server + one worker process), stopped on the way out."""
    stack = baseline.Stack(bare_args(workdir), tag)
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()


async def place_order(api: StarterClient) -> str:
    """POST /orders (full payment); the order id once the purchase was started, else UnitError."""
    body = demo_order(FinancingPlan.FULL)
    response = await api.place_order(body)
    if response.status_code != 201 or response.json().get("purchase_id") != f"purchase-{body['order_id']}":
        raise UnitError(f"POST /orders -> {response.status_code} {response.text[:200]}")
    return str(body["order_id"])


async def pay_deposit(api: StarterClient, order_id: str, card: str) -> None:
    """POST the deposit with this card; UnitError unless it was accepted (charged)."""
    response = await api.act(order_id, "deposit", {"payment_method": card})
    if response.status_code != 200 or response.json().get("accepted") is not True:
        raise UnitError(f"POST deposit -> {response.status_code} {response.text[:200]}")


async def make_cards(stack: DevStack, n: int) -> tuple[list[str], float]:
    """n good test cards on the stack's localstripe (one per order) and the seconds it took."""
    t0 = time.perf_counter()
    cards = await asyncio.to_thread(create_payment_methods, stack.settings.stripe, n)
    return cards, time.perf_counter() - t0


def bare_metrics_url(stack: baseline.Stack) -> str:
    """The Temporal dev server's Prometheus endpoint of a baseline stack."""
    return f"http://127.0.0.1:{stack.metrics_port}/metrics"


def wft_completed(metrics_url: str) -> float:
    """Workflow tasks the dev server's frontend completed in namespace default (RespondWorkflowTaskCompleted).

    The baseline's `Stack.scrape_wft_completed` adds the frontend's and the history service's series of this
    counter, so it counts every workflow task twice (dev server 1.32): this reads the frontend's alone.
    """
    with urllib.request.urlopen(metrics_url, timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "service_requests"
        for sample in family.samples
        if sample.labels.get("operation") == "RespondWorkflowTaskCompleted"
        and sample.labels.get("namespace") == "default"
        and sample.labels.get("service_name") == "frontend"
    )
