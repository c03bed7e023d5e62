"""Every Prometheus client checks TLS certificates (issue 13: two had verification off).

A real HTTPS server with a self-signed certificate: untrusted, each client refuses it;
trusted through REQUESTS_CA_BUNDLE, each one talks to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from alerts.integrations.alertmanager.backfill import alerts_backfill
from alerts.integrations.prometheus.client import PrometheusError, prometheus_rule_groups
from alerts.lint.engine import lint_rule_files
from tests.support.processes import free_port
from tests.support.tls import https_prometheus

PORT = free_port()
SINCE = datetime(2026, 11, 23, tzinfo=UTC)
RULES = """groups:
  - name: g
    rules:
      - alert: Up
        expr: up == 0
        labels: {severity: warning, team: fraud-ml, layer: infra}
        annotations: {summary: down}
"""


@pytest.fixture
def https_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Path]]:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    with https_prometheus(tmp_path, PORT) as served:
        yield served


def _forecast(url: str, settings: Any) -> dict[str, Any]:
    settings.PROMETHEUS_URL = url
    report = lint_rule_files(
        [("rules.yml", RULES)],
        forecast=True,
        forecast_window=timedelta(minutes=10),
        forecast_step=60,
    )
    [item] = report.forecasts
    return item


def test_clients_refuse_an_untrusted_certificate(
    db: None, https_url: tuple[str, Path], settings: Any
) -> None:
    url, _ = https_url
    with pytest.raises(PrometheusError, match="CERTIFICATE_VERIFY_FAILED"):
        prometheus_rule_groups(url=url, retries=0)
    with pytest.raises(requests.exceptions.SSLError):
        alerts_backfill(prometheus_url=url, since=SINCE, until=SINCE + timedelta(minutes=5))
    assert "CERTIFICATE_VERIFY_FAILED" in _forecast(url, settings)["error"]


def test_clients_accept_the_certificate_once_trusted(
    db: None, https_url: tuple[str, Path], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert = https_url
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    assert prometheus_rule_groups(url=url, retries=0) == []
    result = alerts_backfill(prometheus_url=url, since=SINCE, until=SINCE + timedelta(minutes=5))
    assert result.series == 0
    assert _forecast(url, settings)["fires"] == 0
