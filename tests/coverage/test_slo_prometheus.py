"""A real Prometheus loads the generated rule file and evaluates every rule without error."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from fleet_coverage.models import SLO
from fleet_coverage.slo.rules import rule_file_yaml
from tests.conftest import require_service
from tests.support.processes import free_port

PORT = free_port()
URL = f"http://127.0.0.1:{PORT}"
# Prometheus scrapes itself, so the SLI has real data: its own HTTP requests.
GOOD = 'sum(rate(prometheus_http_requests_total{code=~"2.."}[$window]))'
TOTAL = "sum(rate(prometheus_http_requests_total[$window]))"
CONFIG = f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: [rules.yml]
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{PORT}"]}}]
"""


@pytest.fixture
def prometheus_dir(tmp_path: Path) -> Path:
    (tmp_path / "prometheus.yml").write_text(CONFIG)
    return tmp_path


@contextmanager
def _start(directory: Path) -> Iterator[subprocess.Popen[bytes]]:
    binary = shutil.which("prometheus")
    require_service(binary is not None, "prometheus binary (Debian package prometheus)")
    assert binary is not None
    process = subprocess.Popen(  # noqa: S603 (fixed arguments)
        [
            binary,
            f"--config.file={directory / 'prometheus.yml'}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{PORT}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "prometheus.log").open("wb"),
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_for(check: Callable[[], Any], timeout: float = 40) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except (httpx.HTTPError, ValueError):  # not up yet: refused, or 503 text while starting
            result = None
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError("Prometheus did not get there in time")


def _evaluated_rules() -> list[dict[str, Any]] | None:
    groups = httpx.get(f"{URL}/api/v1/rules", timeout=2).json()["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    if not rules or any(rule["health"] == "unknown" for rule in rules):
        return None
    return rules


def _sli_value() -> list[Any] | None:
    response = httpx.get(
        f"{URL}/api/v1/query", params={"query": "slo:sli_error:ratio_rate5m"}, timeout=2
    )
    result = response.json()["data"]["result"]
    return result if any(r["metric"].get("slo") == "availability" for r in result) else None


@pytest.mark.e2e
def test_prometheus_loads_and_evaluates_the_generated_rules(
    make_slo: Callable[..., SLO], prometheus_dir: Path
) -> None:
    slos = [
        make_slo(good_query=GOOD, total_query=TOTAL, window_days=28),
        make_slo(
            slug="latency",
            name="Latency",
            good_query="",
            total_query="",
            ratio_query=(
                'sum(rate(prometheus_http_request_duration_seconds_bucket{le="0.1"}[$window]))'
                " / sum(rate(prometheus_http_request_duration_seconds_count[$window]))"
            ),
            window_days=30,
        ),
    ]
    (prometheus_dir / "rules.yml").write_text(rule_file_yaml(slos))
    with _start(prometheus_dir):
        rules = _evaluated_rules_or_log(prometheus_dir)
        assert len(rules) == 18
        for rule in rules:
            assert rule["health"] == "ok", rule
            assert not rule.get("lastError"), rule
        alerts = {rule["name"]: rule for rule in rules if rule["type"] == "alerting"}
        assert set(alerts) == {
            "FraudScorerAvailabilityBudgetBurnFast",
            "FraudScorerAvailabilityBudgetBurnSlow",
            "FraudScorerLatencyBudgetBurnFast",
            "FraudScorerLatencyBudgetBurnSlow",
        }
        assert alerts["FraudScorerAvailabilityBudgetBurnFast"]["duration"] == 120
        # The recording rule produced a real error ratio from scraped data.
        series = {s["metric"]["slo"]: s for s in _wait_for(_sli_value)}
        assert series["availability"]["metric"]["system"] == "fraud-scorer"
        assert 0 <= float(series["availability"]["value"][1]) <= 1


def _evaluated_rules_or_log(directory: Path) -> list[dict[str, Any]]:
    try:
        return list(_wait_for(_evaluated_rules))
    except AssertionError:
        log = (directory / "prometheus.log").read_text()[-2000:]
        raise AssertionError(f"rules not evaluated; Prometheus log:\n{log}") from None
