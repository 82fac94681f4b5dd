"""The dev stack: Temporal dev server, localstripe, partner sandbox, worker and API as child processes."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, SecretStr
from temporalio.client import Client
from tenacity import AsyncRetrying, retry_if_exception, retry_if_exception_type, stop_after_delay, wait_fixed

from carbuy.devtools.localstripe import register_localstripe_webhook
from carbuy.devtools.processes import ManagedProcess, bin_path, free_port, port_in_use
from carbuy.runtime.settings import MetricsSettings, Settings
from carbuy.runtime.temporal import connect, register_search_attributes
from observability.prometheus import ensure_prometheus, prometheus_argv, render_config, scrape_targets


def settings_env(settings: Settings) -> dict[str, str]:
    """Every setting as a CARBUY_* environment variable, so each child process reads the same settings."""
    env: dict[str, str] = {}

    def walk(prefix: str, model: BaseModel) -> None:
        for name in [*type(model).model_fields, *(model.model_extra or {})]:
            value = getattr(model, name)
            key = f"{prefix}__{name.upper()}" if prefix != "CARBUY" else f"CARBUY_{name.upper()}"
            if isinstance(value, BaseModel):
                walk(key, value)
            elif isinstance(value, SecretStr):
                env[key] = value.get_secret_value()
            elif isinstance(value, dict):
                env[key] = json.dumps(
                    {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in value.items()}
                )
            elif value is not None:
                env[key] = str(value).lower() if isinstance(value, bool) else str(value)

    walk("CARBUY", settings)
    return env


def stack_settings(
    base: Settings,
    *,
    temporal_port: int,
    ui_port: int,
    localstripe_port: int,
    api_port: int,
    sandbox_port: int,
    state_dir: Path,
    time_scale: float | None,
    deadline_floor_s: float,
    codec_port: int | None = None,
) -> Settings:
    """Settings for a stack on these ports, with its state under state_dir."""
    purchase = base.purchase
    if time_scale is not None:
        purchase = purchase.model_copy(update={"time_scale": time_scale, "deadline_floor_s": deadline_floor_s})
    return base.model_copy(
        update={
            "temporal": base.temporal.model_copy(
                update={"address": f"127.0.0.1:{temporal_port}", "ui_url": f"http://127.0.0.1:{ui_port}"}
            ),
            "stripe": base.stripe.model_copy(update={"api_base": f"http://127.0.0.1:{localstripe_port}"}),
            "partners": base.partners.model_copy(
                update={
                    "base_url": f"http://127.0.0.1:{sandbox_port}",
                    "callback_url": f"http://127.0.0.1:{api_port}/webhooks/partners",
                }
            ),
            "api": base.api.model_copy(update={"port": api_port}),
            "codec": base.codec.model_copy(update={"server_port": codec_port or base.codec.server_port}),
            "sandbox": base.sandbox.model_copy(update={"port": sandbox_port}),
            "db": base.db.model_copy(update={"url": f"sqlite:///{state_dir / 'carbuy.db'}"}),
            "purchase": purchase,
            "metrics": metrics_on_free_ports(base.metrics),
        }
    )


def metrics_on_free_ports(metrics: MetricsSettings) -> MetricsSettings:
    """Metrics settings where every port left unset (None) gets a free one; a port of 0 stays off."""
    names = ("api_port", "sandbox_port", "worker_port", "worker_sdk_port")
    return metrics.model_copy(update={name: free_port() for name in names if getattr(metrics, name) is None})


@dataclass
class DevStack:
    """Starts every process carbuy needs, in order, and stops them all (also on failure)."""

    settings: Settings
    state_dir: Path
    temporal_port: int
    ui_port: int
    localstripe_port: int
    processes: list[ManagedProcess] = field(default_factory=list)
    temporal_args: list[str] = field(default_factory=list)
    """Extra `temporal server start-dev` arguments (the benchmarks run it as the bare baseline does)."""

    @property
    def api_url(self) -> str:
        """Base URL of the starter API."""
        return f"http://{self.settings.api.host}:{self.settings.api.port}"

    @property
    def codec_url(self) -> str:
        """Base URL of the codec server (the Web UI decodes through it)."""
        return f"http://{self.settings.codec.server_host}:{self.settings.codec.server_port}"

    @property
    def profile_file(self) -> Path:
        """The Temporal profile (`carbuy`) for the `temporal` CLI: this stack's server and its codec server."""
        return self.state_dir / "temporal.toml"

    def write_profile(self) -> None:
        """Write profile_file: `temporal --config-file <it> --profile carbuy workflow show …` decodes as ops do."""
        self.profile_file.write_text(
            "# Written by `carbuy dev`: the stack's Temporal server and its codec server (decoding needs ops).\n"
            "[profile.carbuy]\n"
            f'address = "{self.settings.temporal.address}"\n'
            f'namespace = "{self.settings.temporal.namespace}"\n'
            "[profile.carbuy.codec]\n"
            f'endpoint = "{self.codec_url}"\n'
            f'auth = "Bearer {self.settings.api.ops_token}"\n'
        )
        self.profile_file.chmod(0o600)

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess(
            name,
            argv,
            self.state_dir / "logs" / f"{name}.log",
            env=settings_env(self.settings),
            cwd=Path(__file__).resolve().parents[2],
        ).start()
        self.processes.append(process)
        return process

    async def start(self) -> None:
        """Start the stack and wait until every part answers; stop what started if one part fails."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        ports = {
            "temporal": self.temporal_port,
            "temporal UI": self.ui_port,
            "localstripe": self.localstripe_port,
            "API": self.settings.api.port,
            "sandbox": self.settings.sandbox.port,
            "codec server": self.settings.codec.server_port,
        }
        busy = [f"{name} port {port}" for name, port in ports.items() if port_in_use(port)]
        if busy:
            raise RuntimeError(f"in use already: {', '.join(busy)} (another stack running? see README, Settings)")
        try:
            temporal = self._spawn(
                "temporal",
                [
                    bin_path("temporal"),
                    "server",
                    "start-dev",
                    "--ip",
                    "127.0.0.1",
                    "--db-filename",
                    str(self.state_dir / "temporal.db"),
                    "--port",
                    str(self.temporal_port),
                    "--ui-port",
                    str(self.ui_port),
                    "--log-level",
                    "warn",
                    "--ui-codec-endpoint",
                    self.codec_url,
                    *self.temporal_args,
                ],
            )
            stripe = self._spawn(
                "localstripe", [bin_path("localstripe"), "--port", str(self.localstripe_port), "--from-scratch"]
            )
            sandbox = self._spawn("sandbox", [sys.executable, "-m", "sandbox"])
            codec = self._spawn("codec-server", [sys.executable, "-m", "carbuy.cli", "codec-server"])
            self.write_profile()
            await asyncio.to_thread(temporal.wait_until_ready, port=self.temporal_port, timeout_s=60)
            client = await self._connect_when_healthy(temporal)
            await register_search_attributes(client, self.settings.temporal.namespace)
            await asyncio.to_thread(
                stripe.wait_until_ready, url=f"http://127.0.0.1:{self.localstripe_port}/v1/customers"
            )
            await asyncio.to_thread(
                register_localstripe_webhook,
                f"http://127.0.0.1:{self.localstripe_port}",
                f"{self.api_url}/webhooks/stripe",
                self.settings.stripe.webhook_secret,
            )
            await asyncio.to_thread(sandbox.wait_until_ready, url=f"{self.settings.partners.base_url}/healthz")
            await asyncio.to_thread(codec.wait_until_ready, url=f"{self.codec_url}/healthz")
            worker = self._spawn("worker", [sys.executable, "worker.py"])
            api = self._spawn("api", [sys.executable, "-m", "starter"])
            await asyncio.to_thread(api.wait_until_ready, url=f"{self.api_url}/healthz")
            if not worker.running:
                raise RuntimeError(f"worker exited early:\n{worker.log_tail()}")
        except BaseException:
            self.stop()
            raise

    async def _connect_when_healthy(self, temporal: ManagedProcess, timeout_s: float = 60.0) -> Client:
        """Connect once the frontend is healthy: its port opens a moment before it answers ("not healthy yet")."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(RuntimeError) & retry_if_exception(lambda _: temporal.running),
            stop=stop_after_delay(timeout_s),
            wait=wait_fixed(0.2),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await connect(self.settings)
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def start_prometheus(self, port: int, *, scrape_interval_s: float = 1.0) -> str:
        """Start Prometheus scraping this stack (installing it if missing); its URL once it is ready."""
        if port_in_use(port):
            raise RuntimeError(f"Prometheus port {port} is in use already (set CARBUY_DEV__PROMETHEUS_PORT)")
        binary = ensure_prometheus()
        home = self.state_dir / "prometheus"
        home.mkdir(parents=True, exist_ok=True)
        config = home / "prometheus.yml"
        config.write_text(render_config(scrape_targets(self.settings.metrics), scrape_interval_s=scrape_interval_s))
        url = f"http://127.0.0.1:{port}"
        prometheus = self._spawn(
            "prometheus", prometheus_argv(binary, config=config, data_dir=home / "data", port=port)
        )
        prometheus.wait_until_ready(url=f"{url}/-/ready", timeout_s=30)
        return url

    def check_alive(self) -> None:
        """Fail with the log's tail if a process of the stack has died."""
        for process in self.processes:
            if not process.running:
                raise RuntimeError(f"{process.name} stopped:\n{process.log_tail()}")

    def process(self, name: str) -> ManagedProcess:
        """The stack's process of that name (temporal, localstripe, sandbox, worker, api, prometheus)."""
        found = next((process for process in self.processes if process.name == name), None)
        if found is None:
            raise KeyError(f"the stack has no process {name!r}")
        return found

    def restart(self, name: str) -> ManagedProcess:
        """Stop one process (if it still runs) and start it again with the same command line and environment.

        The caller waits for it to be ready: each process has its own way of saying so.
        """
        process = self.process(name)
        process.stop()
        return process.start()

    def stop(self) -> None:
        """Stop every process, the last started first."""
        for process in reversed(self.processes):
            process.stop()
        self.processes.clear()
