"""Connecting to Temporal and registering carbuy's search attributes, for every process and command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfigProfile, ClientConnectConfig
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from carbuy.contract.ops import (
    CITY_KEY,
    DELIVERY_CENTER_KEY,
    FINANCING_PLAN_KEY,
    NEEDS_ATTENTION_KEY,
    STUCK_SINCE_KEY,
    VEHICLE_MODEL_KEY,
)
from carbuy.contract.purchase import STAGE_KEY, STATE_KEY
from carbuy.runtime.codec import data_converter
from carbuy.runtime.settings import Settings, TemporalSettings

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


class TemporalConnectionError(RuntimeError):
    """carbuy could not connect to Temporal; the message says where, why, and what to check."""


def connect_config(settings: TemporalSettings) -> ClientConnectConfig:
    """Client.connect's arguments: the environment-configuration profile, then carbuy's explicit settings.

    The profile is what the `temporal` CLI reads too: `temporal.config_file` (else TEMPORAL_CONFIG_FILE, else
    the CLI's default path), profile `temporal.profile` (else TEMPORAL_PROFILE, else `default`), with the
    TEMPORAL_ADDRESS/NAMESPACE/API_KEY/TLS_* variables over it. A TemporalSettings field set explicitly wins;
    address and namespace fall back to carbuy's defaults where neither sets them.
    """
    source = Path(settings.config_file) if settings.config_file else None
    try:
        profile = ClientConfigProfile.load(profile=settings.profile, config_source=source)
    except Exception as error:  # the SDK's loader raises its own errors for a bad file or profile
        where = settings.config_file or "the default Temporal config file"
        raise TemporalConnectionError(f"cannot load the Temporal profile from {where}: {error}") from error
    config: ClientConnectConfig = profile.to_client_connect_config()
    explicit = settings.model_fields_set
    if "address" in explicit or "target_host" not in config:
        config["target_host"] = settings.address
    if "namespace" in explicit or "namespace" not in config:
        config["namespace"] = settings.namespace
    if "api_key" in explicit and settings.api_key is not None:
        config["api_key"] = settings.api_key.get_secret_value()
        config.setdefault("tls", True)
    if "tls" in explicit and (not settings.tls or not isinstance(config.get("tls"), TLSConfig)):
        config["tls"] = settings.tls
    return config


def connection_problems(settings: TemporalSettings) -> list[str]:
    """What makes a connection unfit for production: no TLS, or no credential (API key or client certificate)."""
    try:
        config = connect_config(settings)
    except TemporalConnectionError as error:
        return [str(error)]
    problems = []
    tls = config.get("tls", False)
    if tls is False:
        problems.append(
            f"the connection to {config['target_host']} has no TLS (set [profile.<name>.tls] in the Temporal "
            "profile, TEMPORAL_TLS=true, or an API key)"
        )
    client_cert = isinstance(tls, TLSConfig) and tls.client_cert is not None
    if not config.get("api_key") and not client_cert:
        problems.append(
            "the connection carries no credential: set an API key (TEMPORAL_API_KEY or api_key in the profile) "
            "or a client certificate and key (mTLS: tls.client_cert and tls.client_key in the profile)"
        )
    return problems


def describe_connect_failure(config: ClientConnectConfig, error: BaseException) -> str:
    """A message a person understands for a failed connect (the SDK's own can be a gRPC framing detail)."""
    target = config.get("target_host", "?")
    detail = str(error)
    tls = config.get("tls", False)
    if "invalid compression flag" in detail or "unexpected content-type" in detail:
        hint = (
            "it answered with something that is not gRPC, as a TLS proxy does when it refuses the client: "
            "if it requires a client certificate (mTLS), set tls.client_cert and tls.client_key in the profile"
        )
        if isinstance(tls, TLSConfig) and tls.client_cert is not None:
            hint = "it answered with something that is not gRPC: check that the proxy accepts this client certificate"
    elif "UnsupportedCertVersion" in detail:
        hint = "a certificate is X.509 v1; the SDK needs v3 certificates (with extensions)"
    elif "certificate" in detail.lower() or "tls" in detail.lower() or "handshake" in detail.lower():
        hint = "the TLS handshake failed: check the server CA (tls.server_ca_cert), server name and client certificate"
    elif tls is False:
        hint = "is the server up, and does it expect TLS (set tls in the profile)?"
    else:
        hint = "is the server up and reachable from here?"
    return f"cannot connect to Temporal at {target}: {hint} (the SDK said: {detail})"


def converter(settings: Settings) -> DataConverter:
    """The data converter of every carbuy client, worker and replayer: pydantic JSON, encrypted (codec.py)."""
    return data_converter(settings.codec.ring())


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """A client from the Temporal profile, with carbuy's encrypting data converter (on this SDK runtime, if given)."""
    config = connect_config(settings.temporal)
    try:
        return await Client.connect(**config, data_converter=converter(settings), runtime=runtime)
    except RuntimeError as error:
        raise TemporalConnectionError(describe_connect_failure(config, error)) from error


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
