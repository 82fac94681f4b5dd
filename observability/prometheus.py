"""Prometheus for a carbuy stack: its scrape configuration, the binary (Debian package), and how to run it."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import jinja2

from carbuy.runtime.settings import MetricsSettings

HERE = Path(__file__).resolve().parent
ALERTS = HERE / "alerts.yml"
INSTALL = ["sh", str(HERE.parent / "scripts" / "debian-package.sh"), "prometheus", "prometheus", "promtool"]
CONFIG_TEMPLATE = "prometheus.yml.j2"


class PrometheusMissing(RuntimeError):
    """Prometheus is not installed and could not be installed."""


@dataclass(frozen=True)
class ScrapeTarget:
    """One metrics endpoint: its job name, the service it belongs to, host:port."""

    job: str
    service: str
    address: str


def scrape_targets(settings: MetricsSettings) -> list[ScrapeTarget]:
    """Every metrics endpoint these settings turn on (API, sandbox, worker, the worker's SDK runtime)."""
    ports = (
        ("carbuy-api", "api", settings.api_port),
        ("carbuy-sandbox", "sandbox", settings.sandbox_port),
        ("carbuy-worker", "worker", settings.worker_port),
        ("carbuy-worker-sdk", "worker", settings.worker_sdk_port),
    )
    return [ScrapeTarget(job, service, f"{settings.host}:{port}") for job, service, port in ports if port]


def render_config(
    targets: list[ScrapeTarget], *, scrape_interval_s: float = 15.0, stack: str = "dev", alerts: Path = ALERTS
) -> str:
    """The prometheus.yml scraping these targets and evaluating carbuy's alert rules."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template(CONFIG_TEMPLATE).render(
        targets=targets,
        scrape_interval=_duration(scrape_interval_s),
        scrape_timeout=_duration(min(scrape_interval_s, 10.0)),
        stack=stack,
        alerts_path=str(alerts),
    )


def _duration(seconds: float) -> str:
    """A Prometheus duration (`1s`, `250ms`)."""
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"


def find_prometheus() -> str | None:
    """The prometheus binary on PATH, if installed together with promtool."""
    binary = shutil.which("prometheus")
    return binary if binary and shutil.which("promtool") else None


def ensure_prometheus() -> str:
    """The prometheus binary; installs the Debian package first when it is missing (needs root and apt-get)."""
    found = find_prometheus()
    if found:
        return found
    run = subprocess.run(INSTALL, capture_output=True, text=True, check=False)
    found = find_prometheus()
    if run.returncode != 0 or not found:
        raise PrometheusMissing(
            "Prometheus is not installed and could not be installed "
            f"({(run.stderr or run.stdout).strip() or 'no output'}); install the Debian package `prometheus` "
            f"(as root: `{' '.join(INSTALL)}`) and try again"
        )
    return found


def prometheus_argv(binary: str, *, config: Path, data_dir: Path, port: int, host: str = "127.0.0.1") -> list[str]:
    """The command line of a Prometheus serving on host:port with its data under data_dir."""
    return [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={data_dir}",
        f"--web.listen-address={host}:{port}",
        "--storage.tsdb.retention.time=2d",
        "--log.level=warn",
    ]
