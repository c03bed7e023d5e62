"""Lint --forecast against a real Prometheus started on this helper's port.

Prometheus evaluates a recording rule that flips between 1 and 0 every 3 seconds; the linted
alert `steward_test_flap == 1` therefore "fires" once per 6-second cycle. Skipped without the
binary, failed instead under STEWARD_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import call_command

from alerts.lint.engine import lint_rule_files
from tests.conftest import require_service
from tests.support.processes import free_port

PORT = free_port()
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
CONFIG = f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{PORT}"]}}]
"""
RECORDING = """groups:
  - name: steward-test
    interval: 1s
    rules:
      - record: steward_test_flap
        expr: vector(time() % 6 < bool 3)
"""


def alert_file(for_: str) -> str:
    return f"""groups:
  - name: flappy
    rules:
      - alert: FlapOn
        expr: steward_test_flap == 1
        for: {for_}
        labels: {{severity: warning, team: fraud-ml, layer: infra}}
        annotations: {{summary: flaps}}
"""


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_service(Path(PROMETHEUS).exists(), "Prometheus binary (/usr/bin/prometheus)")
    workdir = tmp_path_factory.mktemp("prometheus")
    (workdir / "prometheus.yml").write_text(CONFIG)
    (workdir / "rules.yml").write_text(RECORDING)
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{PORT}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{PORT}"
    try:
        _wait_for_samples(url, minimum=16)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_samples(url: str, *, minimum: int) -> None:
    """Until the recording rule has produced `minimum` samples (about one per second)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            data = requests.get(
                f"{url}/api/v1/query",
                params={"query": "count_over_time(steward_test_flap[5m])"},
                timeout=2,
            ).json()
            result = data["data"]["result"]
            if result and float(result[0]["value"][1]) >= minimum:
                return
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.5)
    pytest.fail("Prometheus did not produce samples in 60 s")


@pytest.fixture
def with_prometheus(prometheus_url: str, settings: Any, team: Any) -> str:
    settings.PROMETHEUS_URL = prometheus_url
    return prometheus_url


def forecast(text: str) -> Any:
    return lint_rule_files(
        [("flap.yml", text)],
        forecast=True,
        forecast_window=timedelta(seconds=40),
        forecast_step=1,
    )


def test_forecast_counts_rising_edges(with_prometheus: str, settings: Any) -> None:
    settings.STEWARD_LINT_FORECAST_MAX_FIRES = 100
    report = forecast(alert_file("1s"))
    [item] = report.forecasts
    # ~16-40 s of data, one 3-second firing per 6-second cycle.
    assert 2 <= item["fires"] <= 8, item
    assert not [v for v in report.violations if v.check == "forecast"]


def test_for_longer_than_any_run_never_fires(with_prometheus: str) -> None:
    [item] = forecast(alert_file("10s")).forecasts
    assert item["fires"] == 0


def test_warning_above_threshold_does_not_fail(with_prometheus: str, settings: Any) -> None:
    settings.STEWARD_LINT_FORECAST_MAX_FIRES = 1
    report = forecast(alert_file("1s"))
    warnings = [v for v in report.violations if v.check == "forecast"]
    assert len(warnings) == 1 and warnings[0].status == "warning"
    assert "Would have fired" in warnings[0].message
    assert [v.check for v in report.violations if v.status == "error"] == ["runbook_url"]


def test_bad_expression_reports_the_prometheus_error(with_prometheus: str) -> None:
    text = alert_file("1s").replace("steward_test_flap == 1", "sum(steward_test_flap")
    [item] = forecast(text).forecasts
    assert item["fires"] is None and item["error"]


def test_command_forecasts_over_seven_days(
    with_prometheus: str, tmp_path: Path, settings: Any
) -> None:
    path = tmp_path / "flap.yml"
    path.write_text(alert_file("1s"))
    out = StringIO()
    with pytest.raises(SystemExit):  # the runbook_url violation still fails the gate
        call_command("lint_rules", str(path), "--forecast", "--format=json", stdout=out)

    [item] = json.loads(out.getvalue())["forecasts"]
    # Evaluated like Prometheus's default evaluation interval: 10,081 points, two queries.
    assert item["step_seconds"] == settings.STEWARD_REPLAY_EVALUATION_SECONDS == 60
    assert isinstance(item["fires"], int)
