"""Connecting to Temporal and registering carbuy's search attributes, for every process and command."""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime

from carbuy.contract.ops import (
    CITY_KEY,
    DELIVERY_CENTER_KEY,
    FINANCING_PLAN_KEY,
    NEEDS_ATTENTION_KEY,
    STUCK_SINCE_KEY,
    VEHICLE_MODEL_KEY,
)
from carbuy.contract.purchase import STAGE_KEY, STATE_KEY
from carbuy.runtime.settings import TemporalSettings

SEARCH_ATTRIBUTES: tuple[SearchAttributeKey[Any], ...] = (
    STAGE_KEY,
    STATE_KEY,
    NEEDS_ATTENTION_KEY,
    STUCK_SINCE_KEY,
    CITY_KEY,
    DELIVERY_CENTER_KEY,
    VEHICLE_MODEL_KEY,
    FINANCING_PLAN_KEY,
)
"""Every search attribute a purchase sets; none carries PII."""


async def connect(settings: TemporalSettings, *, runtime: Runtime | None = None) -> Client:
    """A client with the pydantic data converter, as every carbuy process uses (on this SDK runtime, if given)."""
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        data_converter=pydantic_data_converter,
        api_key=settings.api_key,
        tls=settings.tls,
        runtime=runtime,
    )


async def register_search_attributes(client: Client, namespace: str, *, check_existing: bool = True) -> list[str]:
    """Add carbuy's search attributes that the namespace lacks; the names that were added.

    The time-skipping test server cannot list search attributes: there, pass check_existing=False.
    """
    existing: set[str] = set()
    if check_existing:
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
        existing = set(listed.custom_attributes)
    missing = {
        key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
        for key in SEARCH_ATTRIBUTES
        if key.name not in existing
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)
