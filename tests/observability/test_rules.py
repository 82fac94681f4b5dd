"""The alert rules, the Prometheus configuration and the dashboard, checked with promtool and against our metrics."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

import workflows.metrics as workflow_metrics
from carbuy.runtime.settings import MetricsSettings
from observability import metrics as process_metrics
from observability.prometheus import ALERTS, render_config, scrape_targets

ROOT = Path(__file__).resolve().parents[2]
ALERT_TESTS = ROOT / "observability" / "tests" / "alerts_test.yml"
DASHBOARD = ROOT / "observability" / "grafana" / "carbuy.json"
SDK_METRICS = {
    "temporal_workflow_task_execution_failed_total",
    "temporal_workflow_task_schedule_to_start_latency_bucket",
    "temporal_activity_schedule_to_start_latency_bucket",
    "temporal_worker_task_slots_available",
    "temporal_sticky_cache_size",
    "temporal_sticky_cache_hit_total",
    "temporal_sticky_cache_miss_total",
    "temporal_activity_execution_failed_total",
    "temporal_long_request_failure_total",
    "temporal_num_pollers",
}
"""The Temporal SDK's metrics the rules and the dashboard use (the e2e test finds the common ones live)."""


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool; a missing promtool fails the test (make test installs it with scripts/debian-package.sh)."""
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed: run `make prometheus` as root (make test does)")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, check=False)


def test_the_alert_rules_pass_promtool_check_rules() -> None:
    run = promtool("check", "rules", str(ALERTS))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS: 8 rules found" in run.stdout


def test_every_alert_fires_on_its_crafted_series_and_stays_quiet_on_calm_ones() -> None:
    run = promtool("test", "rules", str(ALERT_TESTS))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


def test_every_alert_has_a_unit_test_that_expects_it_to_fire() -> None:
    alerts = set(re.findall(r"^\s+- alert: (\w+)", ALERTS.read_text(), re.MULTILINE))
    tests = ALERT_TESTS.read_text()
    firing = {name for name in alerts if re.search(rf"alertname: {name}\n\s+exp_alerts:\n\s+- exp_labels", tests)}
    quiet = {name for name in alerts if re.search(rf"alertname: {name}\n\s+exp_alerts: \[\]", tests)}
    assert len(alerts) == 8
    assert firing == alerts
    assert quiet == alerts


def test_the_generated_prometheus_configuration_passes_promtool(tmp_path: Path) -> None:
    settings = MetricsSettings(api_port=9101, sandbox_port=9102, worker_port=9103, worker_sdk_port=9104)
    config = tmp_path / "prometheus.yml"
    config.write_text(render_config(scrape_targets(settings), scrape_interval_s=1.0))

    run = promtool("check", "config", str(config))

    assert run.returncode == 0, run.stdout + run.stderr
    text = config.read_text()
    assert all(f'"127.0.0.1:{port}"' in text for port in (9101, 9102, 9103, 9104))
    assert "scrape_interval: 1s" in text


def test_a_process_whose_metrics_port_is_off_is_not_scraped() -> None:
    targets = scrape_targets(MetricsSettings(api_port=9101, sandbox_port=0, worker_port=None, worker_sdk_port=9104))
    assert [t.job for t in targets] == ["carbuy-api", "carbuy-worker-sdk"]


def _queried_names(expressions: list[str]) -> set[str]:
    names: set[str] = set()
    for expr in expressions:
        names |= {n for n in re.findall(r"\b((?:carbuy|temporal)_[a-z_]+)\b", expr)}
    return names


def _exported_names() -> set[str]:
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    collectors = [m for m in vars(process_metrics).values() if isinstance(m, MetricWrapperBase)]
    ours = {family.name + suffix for m in collectors for family in m.describe() for suffix in suffixes[family.type]}
    workflow = {getattr(workflow_metrics, c) for c in dir(workflow_metrics) if c.isupper()}
    workflow_names = {n + ("_bucket" if n.endswith("_seconds") else "_total") for n in workflow}
    return ours | workflow_names | SDK_METRICS


def test_the_rules_and_the_dashboard_query_only_metrics_carbuy_exports() -> None:
    rules = re.findall(r"expr: (>-\n(?:\s{10,}.*\n)+|.*\n)", ALERTS.read_text())
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]

    used = _queried_names(rules) | _queried_names(queries)

    assert "carbuy_money_charged_fen_total" in used and "carbuy_stage_duration_seconds_bucket" in used
    assert used - _exported_names() == set()


def test_the_dashboard_has_the_four_main_views() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == ["Purchases by stage", "Money in and out", "Partner health", "Worker health"]
    assert dashboard["__inputs"][0]["name"] == "DS_PROMETHEUS"
