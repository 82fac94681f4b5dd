"""One settings object for every carbuy process, read from the environment (prefix CARBUY_, nested by __)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from carbuy.contract.institutions import INSTITUTIONS, institution
from carbuy.domain.policy import PurchasePolicy
from carbuy.runtime.codec import KeyRing, decode_key

DEV_SECRET_PREFIX = "dev-"
DEV_WEBHOOK_SECRET_PREFIX = "whsec_dev"


DEV_CODEC_KEY_ID = "dev-1"
DEV_CODEC_KEY = base64.b64encode(hashlib.sha256(b"carbuy development codec key").digest()).decode()
"""Public on purpose (it is in this file): development and tests only; refused in production."""
KEY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class TemporalSettings(BaseModel):
    """Where the Temporal server is and how carbuy reaches it; the queue carbuy uses.

    The connection comes from a Temporal environment-configuration profile (the TOML file and the TEMPORAL_*
    variables the `temporal` CLI reads too: address, namespace, API key, TLS with server CA, client certificate
    and key, server name). A field set here explicitly (CARBUY_TEMPORAL__ADDRESS, ...) overrides the profile;
    a field set nowhere takes the default below. See carbuy/runtime/temporal.py.
    """

    config_file: str | None = Field(
        default=None, description="the profile file (None: TEMPORAL_CONFIG_FILE, else the CLI's default path)"
    )
    profile: str | None = Field(default=None, description="the profile's name (None: TEMPORAL_PROFILE or default)")
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queue: str = "carbuy-purchase"
    ui_url: str = "http://127.0.0.1:8233"
    api_key: SecretStr | None = None
    tls: bool = False


class CodecSettings(BaseModel):
    """The payload codec's key ring (every payload in Temporal is encrypted) and the codec server.

    `keys` maps key ids to base64 AES-256 keys, e.g. CARBUY_CODEC__KEYS='{"2026-12": "<44 base64 chars>"}';
    new payloads use `current_key`; keep a retired key in `keys` while histories written under it are kept.
    """

    keys: dict[str, SecretStr] = Field(default_factory=lambda: {DEV_CODEC_KEY_ID: SecretStr(DEV_CODEC_KEY)})
    current_key: str = DEV_CODEC_KEY_ID
    server_host: str = "127.0.0.1"
    server_port: int = Field(default=8234, ge=1, le=65535, description="`carbuy codec-server` and the dev stack")
    ui_origin: str | None = Field(
        default=None, description="the Web UI origin allowed by CORS (None: the origin of temporal.ui_url)"
    )
    session_hours: float = Field(default=8.0, gt=0, le=24, description="how long a browser login to decode lasts")

    @model_validator(mode="after")
    def _ring_is_usable(self) -> CodecSettings:
        if not self.keys:
            raise ValueError("codec.keys is empty: every payload is encrypted, a key is needed")
        for key_id, material in self.keys.items():
            if not re.match(KEY_ID_PATTERN, key_id):
                raise ValueError(f"codec key id {key_id!r} must match {KEY_ID_PATTERN}")
            decode_key(key_id, material.get_secret_value())
        if self.current_key not in self.keys:
            raise ValueError(f"codec.current_key {self.current_key!r} is not one of codec.keys")
        return self

    def ring(self) -> KeyRing:
        """The key ring the data converter encrypts and decrypts with."""
        return KeyRing.from_base64({k: v.get_secret_value() for k, v in self.keys.items()}, self.current_key)

    def development_keys(self) -> list[str]:
        """Key ids that are development values (refused in production)."""
        return sorted(
            key_id
            for key_id, material in self.keys.items()
            if key_id.startswith(DEV_SECRET_PREFIX) or material.get_secret_value() == DEV_CODEC_KEY
        )


class StripeSettings(BaseModel):
    """The payment processor: localstripe by default, real Stripe when api_base is empty and a real key is set."""

    api_key: str = "sk_test_carbuy_localstripe"
    api_base: str | None = "http://127.0.0.1:8420"
    currency: str = "cny"
    timeout_s: float = 20.0
    webhook_secret: str = Field(default="whsec_dev_carbuy_localstripe", description="signs Stripe's webhooks to us")


class PartnerSettings(BaseModel):
    """Base URLs of the partner institutions (the sandbox by default) and the callback they answer to.

    Each registered institution (carbuy/contract/institutions.py) has its own `<name>_url`, e.g.
    CARBUY_PARTNERS__LENDER_URL; unset, it is the sandbox's path for it under `base_url`. A `<name>_url` of no
    registered institution is refused at start, and so is an institution left without any URL.
    """

    model_config = ConfigDict(extra="allow")

    base_url: str = "http://127.0.0.1:8300"
    callback_url: str = "http://127.0.0.1:8000/webhooks/partners"
    callback_secret: str = "dev-partner-callback-secret"
    timeout_s: float = 10.0

    @model_validator(mode="after")
    def _every_url_belongs_to_an_institution(self) -> PartnerSettings:
        settings = {i.setting: i for i in INSTITUTIONS}
        unknown = sorted(name for name in self.model_extra or {} if name not in settings)
        if unknown:
            known = ", ".join(f"partners.{name}" for name in settings)
            raise ValueError(f"no registered institution has the setting partners.{unknown[0]} (known: {known})")
        if not self.base_url:
            unset = [i for i in INSTITUTIONS if not self.own_url(i.name)]
            if unset:
                missing = ", ".join(f"{i.name} ({i.env_var})" for i in unset)
                raise ValueError(f"partners.base_url is empty and these institutions have no URL: {missing}")
        return self

    def own_url(self, name: str) -> str | None:
        """The institution's own URL setting, if set."""
        value = (self.model_extra or {}).get(institution(name).setting)
        return str(value) if value else None

    def url_of(self, name: str) -> str:
        """Base URL of one institution: its own setting, else the sandbox's path for it."""
        return self.own_url(name) or f"{self.base_url.rstrip('/')}/{name}"


class DatabaseSettings(BaseModel):
    """carbuy's own database: payment keys, the ledger, purchase outcomes, processor events (Alembic schema)."""

    url: str = "sqlite:///.carbuy/carbuy.db"


class ApiSettings(BaseModel):
    """The starter API and its callers' tokens, one per role."""

    host: str = "127.0.0.1"
    port: int = 8000
    backend_token: str = "dev-backend-token"
    ops_token: str = "dev-ops-token"
    finance_token: str = "dev-finance-token"
    order_digest_key: str = "dev-order-digest-key"


class SandboxSettings(BaseModel):
    """The partner sandbox process."""

    host: str = "127.0.0.1"
    port: int = 8300
    callback_delay_s: float = 1.0
    latency_ms: int = 0


class MetricsSettings(BaseModel):
    """Where each process serves Prometheus metrics on /metrics (None or 0: off; the dev stack picks free ports)."""

    host: str = "127.0.0.1"
    api_port: int | None = None
    sandbox_port: int | None = None
    worker_port: int | None = Field(default=None, description="carbuy's activity metrics (prometheus-client)")
    worker_sdk_port: int | None = Field(default=None, description="Temporal SDK runtime and workflow metrics")


class PurchaseSettings(BaseModel):
    """How the starter builds each purchase's PurchasePolicy: the defaults, optionally scaled in time."""

    time_scale: float = Field(default=1.0, gt=0, description="every policy duration is multiplied by this")
    deadline_floor_s: float = Field(default=0.0, ge=0, description="no scaled deadline is shorter than this")

    def policy(self) -> PurchasePolicy:
        """The policy every new purchase gets."""
        base = PurchasePolicy()
        if self.time_scale == 1.0:
            return base
        return base.scaled(self.time_scale, floor=timedelta(seconds=self.deadline_floor_s))


class OpsSettings(BaseModel):
    """The ops team: where messages about purchases that need a person go."""

    notify_to: str = Field(default="ops@carbuy.example", min_length=3, description="the ops team's e-mail address")


class OutboxSettings(BaseModel):
    """The notification outbox's sender (runs in the worker; `carbuy outbox drain` drains once)."""

    poll_interval_s: float = Field(default=1.0, gt=0, description="pause between drains when nothing is pending")
    batch_size: int = Field(default=50, ge=1, le=1000, description="messages claimed per round")
    send_attempts: int = Field(default=3, ge=1, le=20, description="tries per message and round (transport errors)")
    backoff_s: float = Field(default=0.5, ge=0, description="first wait between tries, doubling")
    max_attempts: int = Field(default=20, ge=1, description="rounds a message is tried in before it is failed")
    claim_timeout_s: float = Field(default=120.0, gt=0, description="a claim older than this is taken over")


class FinanceSettings(BaseModel):
    """The daily reconciliation: when its Temporal Schedule runs it, which day it takes, how it reads."""

    schedule_cron: str = Field(default="0 2 * * *", description="when the schedule runs, in schedule_timezone")
    schedule_every_s: int | None = Field(
        default=None, gt=0, description="run every N seconds instead of the cron (the dev stack: 60)"
    )
    schedule_timezone: str = "Asia/Shanghai"
    schedule_day: Literal["yesterday", "today"] = Field(
        default="yesterday",
        description="the day a scheduled run reconciles (the dev stack: today, to see its purchases)",
    )
    stripe_page_size: int = Field(default=100, ge=1, le=100, description="objects per Stripe list page")
    activity_timeout_s: float = Field(default=3600.0, gt=0, description="longest one reconciliation may run")
    workdir: str | None = Field(default=None, description="where the scratch database goes (default: system temp)")


class DevSettings(BaseModel):
    """The dev stack: ports of the processes it starts and how fast the demo purchase runs."""

    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    localstripe_port: int = 8420
    state_dir: str = ".carbuy"
    demo_time_scale: float = Field(default=12 / (90 * 86_400), description="90 days of policy become 12 s")
    demo_deadline_floor_s: float = 60.0
    prometheus_port: int = Field(
        default=9490, description="`carbuy dev --with-prometheus` (not 9090: a packaged Prometheus service may hold it)"
    )


class Settings(BaseSettings):
    """Everything configurable, in one place; the composition roots read it once and pass it on."""

    model_config = SettingsConfigDict(env_prefix="CARBUY_", env_nested_delimiter="__", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    temporal: TemporalSettings = TemporalSettings()
    codec: CodecSettings = CodecSettings()
    stripe: StripeSettings = StripeSettings()
    partners: PartnerSettings = PartnerSettings()
    db: DatabaseSettings = DatabaseSettings()
    api: ApiSettings = ApiSettings()
    sandbox: SandboxSettings = SandboxSettings()
    purchase: PurchaseSettings = PurchaseSettings()
    metrics: MetricsSettings = MetricsSettings()
    dev: DevSettings = DevSettings()
    ops: OpsSettings = OpsSettings()
    outbox: OutboxSettings = OutboxSettings()
    finance: FinanceSettings = FinanceSettings()

    @model_validator(mode="after")
    def _no_dev_secrets_in_production(self) -> Settings:
        if self.environment == "production":
            secrets = {
                "api.backend_token": self.api.backend_token,
                "api.ops_token": self.api.ops_token,
                "api.finance_token": self.api.finance_token,
                "api.order_digest_key": self.api.order_digest_key,
                "partners.callback_secret": self.partners.callback_secret,
                "stripe.webhook_secret": self.stripe.webhook_secret,
            }
            weak = [
                name
                for name, value in secrets.items()
                if value.startswith((DEV_SECRET_PREFIX, DEV_WEBHOOK_SECRET_PREFIX)) or len(value) < 16
            ]
            if weak:
                raise ValueError(f"development secrets must be replaced in production: {', '.join(weak)}")
            if self.stripe.api_base:
                raise ValueError("stripe.api_base points at a local Stripe server in production")
            dev_keys = self.codec.development_keys()
            if dev_keys:
                raise ValueError(
                    f"development codec keys must be replaced in production: {', '.join(dev_keys)} "
                    "(set CARBUY_CODEC__KEYS and CARBUY_CODEC__CURRENT_KEY; `carbuy codec new-key` makes one)"
                )
            from carbuy.runtime.temporal import connection_problems  # temporal.py imports this module

            problems = connection_problems(self.temporal)
            if problems:
                raise ValueError("the Temporal connection is not secured in production: " + "; ".join(problems))
        return self
