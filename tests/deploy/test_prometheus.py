"""Prometheus and Alertmanager configuration: validated by their own tools, and by doctrine."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from alerts.models import Delivery, Evaluation
from alerts.signals import delivery_recorded, evaluation_finished
from core.durations import duration_parse
from ops.services import alertname_slug
from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
SEVERITIES = {"page", "critical", "warning", "ticket", "info"}


def tool(name: str) -> str:
    path = shutil.which(name)
    require_service(
        path is not None, f"{name} (Debian package prometheus / prometheus-alertmanager)"
    )
    assert path is not None
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((PROMETHEUS_DIR / "rules.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"] if "alert" in rule]


def test_promtool_accepts_the_prometheus_config(tmp_path: Path) -> None:
    promtool = tool("promtool")
    # promtool checks that credentials files exist: point the secret at a temporary file.
    token = tmp_path / "metrics_token"
    token.write_text("test-token")
    config = (PROMETHEUS_DIR / "prometheus.yml").read_text()
    assert "/run/secrets/metrics_token" in config
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/run/secrets/metrics_token", str(token))
    )
    shutil.copy(PROMETHEUS_DIR / "rules.yml", tmp_path / "rules.yml")
    result = run(promtool, "check", "config", "prometheus.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout + result.stderr


def test_promtool_accepts_the_rules() -> None:
    result = run(tool("promtool"), "check", "rules", "rules.yml", cwd=PROMETHEUS_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_self_alerts_fire_when_they_should(tmp_path: Path) -> None:
    """promtool unit tests (tests/deploy/rules_test.yml) feed series and expect alerts."""
    shutil.copy(PROMETHEUS_DIR / "rules.yml", tmp_path / "rules.yml")
    shutil.copy(Path(__file__).parent / "rules_test.yml", tmp_path / "rules_test.yml")
    result = run(tool("promtool"), "test", "rules", "rules_test.yml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_accepts_the_alertmanager_config() -> None:
    amtool = tool("amtool")
    result = run(amtool, "check-config", "alertmanager.yml", cwd=ROOT / "deploy" / "alertmanager")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_self_alert_follows_the_doctrine() -> None:
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= {
        "StewardIngestErrors",
        "StewardEvaluationLag",
        "StewardBeatMissing",
        "StewardWeb5xxRate",
    }
    for rule in rules:
        name, labels, annotations = rule["alert"], rule["labels"], rule["annotations"]
        assert labels["team"] == "steward-operators", name
        assert labels["severity"] in SEVERITIES, name
        assert labels["layer"] == "infra", name
        assert annotations["summary"].strip(), name
        assert annotations["runbook_url"] == f"{COMPOSE_BASE_URL}/runbooks/for/{name}/", name
        assert (ROOT / "deploy" / "runbooks" / f"{alertname_slug(name)}.md").is_file(), name
        if labels["severity"] in {"page", "critical"}:
            assert duration_parse(rule["for"]) >= timedelta(minutes=2), name


# The compose deployment's Steward, on which rules.yml links its runbooks (see its header).
COMPOSE_BASE_URL = "http://localhost:8000"


@pytest.mark.django_db
def test_steward_lint_gate_passes_its_own_rules(settings: Any) -> None:
    """Steward's own gate on Steward's own rules, with its runbooks and team installed, so the
    owner and runbook checks look at a real catalog (the same as the CI step in .ci/run)."""
    settings.STEWARD_BASE_URL = COMPOSE_BASE_URL
    call_command("install_runbooks", stdout=StringIO())
    out = StringIO()
    call_command("lint_rules", str(PROMETHEUS_DIR / "rules.yml"), stdout=out)
    # Returning at all means exit 0; the counts say every alert was checked and passed.
    assert "6 alert(s), 0 error(s), 0 waived, 0 warning(s)" in out.getvalue(), out.getvalue()


@pytest.mark.django_db
def test_steward_lint_gate_fails_without_the_runbooks(settings: Any) -> None:
    """The check above is real: on an empty catalog the same file fails the gate."""
    settings.STEWARD_BASE_URL = COMPOSE_BASE_URL
    with pytest.raises(SystemExit) as exit_info:
        call_command("lint_rules", str(PROMETHEUS_DIR / "rules.yml"), stdout=StringIO())
    assert exit_info.value.code == 1


@pytest.mark.django_db
def test_every_metric_the_rules_and_dashboard_use_is_exported(client: Client) -> None:
    now = timezone.now()
    Evaluation.objects.create(week="2026-W40", status="done", finished_at=now)
    Evaluation.objects.create(week="2026-W41", status="pending", requested_at=now)
    delivery = Delivery(pk=1, source="prometheus", outcome="accepted", opened_count=1)
    delivery_recorded.send(sender=Delivery, delivery=delivery, duration_seconds=0.1)
    delivery.updated_count = delivery.closed_count = 1
    delivery_recorded.send(sender=Delivery, delivery=delivery, duration_seconds=0.1)
    failed = Evaluation(week="2026-W41", status="failed")
    evaluation_finished.send(sender=Evaluation, evaluation=failed, duration_seconds=1.0)
    from ops.metrics import CELERY_TASKS

    CELERY_TASKS.labels(task="steward.x", outcome="success").inc(0)
    client.get("/healthz")
    text = client.get("/metrics").content.decode()
    exported = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line[:1] != "#"}

    used = set(re.findall(r"\bsteward_[a-z_]+", (PROMETHEUS_DIR / "rules.yml").read_text()))
    dashboard = (ROOT / "deploy" / "grafana" / "dashboards" / "steward.json").read_text()
    used |= set(re.findall(r"\bsteward_[a-z_]+", dashboard))
    used -= {"steward_self"}
    assert used, "no metric names found"
    missing = sorted(name for name in used if name not in exported)
    assert not missing, f"used but not exported: {missing}"
