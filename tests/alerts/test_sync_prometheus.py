"""sync_prometheus against a real Prometheus (Debian's binary), started by the test."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.management import CommandError, call_command

from alerts.models import AlertRule
from fleet.models import Team
from tests.conftest import require_service
from tests.support.processes import free_ports

pytestmark = [pytest.mark.django_db, pytest.mark.e2e]

PORT, CLOSED_PORT = free_ports(2)
URL = f"http://127.0.0.1:{PORT}"
CAPTURE = Path(__file__).parent / "fixtures" / "capture-rules.yml"
RULES = """
groups:
  - name: steward-test
    rules:
      - record: job:up:sum
        expr: sum(up)
      - alert: FraudLossRateHigh
        expr: vector(1) > 2
        for: 10m
        labels: {team: fraud-ml, severity: critical, layer: business, model: fraud-scorer}
        annotations: {summary: Fraud losses above target}
"""


def _wait_for_rules(deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            body = requests.get(f"{URL}/api/v1/rules", timeout=1).json()
            if len(body["data"]["groups"]) == 2:
                return
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise AssertionError("Prometheus did not load the rule files in time")


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    require_service(Path(binary).exists(), "the prometheus binary")
    (tmp_path / "rules.yml").write_text(RULES)
    shutil.copy(CAPTURE, tmp_path / "capture-rules.yml")
    (tmp_path / "prometheus.yml").write_text(
        "global: {evaluation_interval: 1s}\n"
        f"rule_files: ['{tmp_path}/rules.yml', '{tmp_path}/capture-rules.yml']\n"
    )
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{PORT}",
            "--web.enable-lifecycle",  # POST /-/reload after a test edits a rule file
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("w"),
    )
    try:
        _wait_for_rules(time.monotonic() + 30)
        yield URL
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _sync(url: str) -> str:
    out = StringIO()
    call_command("sync_prometheus", url=url, stdout=out)
    return out.getvalue()


def test_sync_imports_alert_rules_from_prometheus_idempotently(prometheus: str) -> None:
    Team.objects.create(slug="fraud-ml", name="Fraud ML")
    Team.objects.create(slug="recsys", name="Recsys")
    output = _sync(prometheus)
    assert "4 created, 0 updated, 0 unchanged" in output
    assert "1 recording rules skipped" in output
    loss = AlertRule.objects.get(alertname="FraudLossRateHigh")
    assert loss.matchers == {"model": "fraud-scorer"}
    assert loss.owner_team is not None and loss.owner_team.slug == "fraud-ml"
    assert (loss.severity, loss.layer) == ("critical", "business")
    assert loss.for_duration is not None and loss.for_duration.total_seconds() == 600
    assert loss.expression == "vector(1) > 2"
    assert AlertRule.objects.filter(alertname="ModelLatencyHigh").count() == 2

    before = list(AlertRule.objects.values().order_by("pk"))
    assert "0 created, 0 updated, 4 unchanged" in _sync(prometheus)
    assert list(AlertRule.objects.values().order_by("pk")) == before


def test_sync_without_reachable_prometheus_fails_clearly() -> None:
    with pytest.raises(CommandError, match="Cannot reach Prometheus"):
        _sync(f"http://127.0.0.1:{CLOSED_PORT}")


def test_sync_without_url_says_what_to_set(settings: Any) -> None:
    settings.PROMETHEUS_URL = ""
    with pytest.raises(CommandError, match="PROMETHEUS_URL"):
        call_command("sync_prometheus")


def test_sync_remembers_files_and_marks_a_prune_done_once_prometheus_stops_loading_it(
    prometheus: str, tmp_path: Path, settings: Any
) -> None:
    """Each group's `file` (relative to STEWARD_RULES_ROOT) and group name are kept; after the
    rule is deleted from its file and Prometheus reloads, the next sync closes the prune."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from alerts.review.services import decision_record
    from core.weeks import week_of

    settings.STEWARD_RULES_ROOT = str(tmp_path)
    team = Team.objects.create(slug="fraud-ml", name="Fraud ML")
    Team.objects.create(slug="recsys", name="Recsys")
    _sync(prometheus)
    loss = AlertRule.objects.get(alertname="FraudLossRateHigh")
    assert (loss.source_file, loss.source_group) == ("rules.yml", "steward-test")
    staff = User.objects.create_user("lead", is_staff=True)
    assert team.pk
    decision = decision_record(user=staff, rule=loss, week=week_of(timezone.now()), kind="prune")
    _sync(prometheus)
    decision.refresh_from_db()
    assert decision.done_at is None  # still loaded
    kept = RULES.split("      - alert: FraudLossRateHigh")[0]
    (tmp_path / "rules.yml").write_text(kept)
    assert requests.post(f"{URL}/-/reload", timeout=5).status_code == 200
    deadline = time.monotonic() + 20
    while "FraudLossRateHigh" in requests.get(f"{URL}/api/v1/rules", timeout=2).text:
        assert time.monotonic() < deadline, "Prometheus did not reload"
        time.sleep(0.2)
    _sync(prometheus)
    decision.refresh_from_db()
    assert decision.done_at is not None and decision.done_by is None
    assert decision.carried_out_note.startswith("carried out: seen in import of rules.yml at ")
