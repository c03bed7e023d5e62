"""The documented `runbook_url` annotation, expanded by the real Prometheus (promtool), lands on
the right on-call page with the label values intact."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client

from alerts.models import AlertRule
from fleet.models import Team
from runbooks.models import Runbook
from runbooks.services import runbook_save
from tests.conftest import require_service

RULES = Path(__file__).parent / "fixtures" / "runbook_url_rules.yml"
EXPANDED = (
    "https://steward.example.com/runbooks/for/ModelLatencyHigh/"
    "?model=fraud+scorer%26%3Cv2%3E&env=prod"
)


def test_promtool_expands_the_documented_annotation(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    require_service(promtool is not None, "promtool (Debian package prometheus)")
    shutil.copy(RULES, tmp_path / "rules.yml")
    unit = {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {
                        "series": 'model_latency_p99_seconds{model="fraud scorer&<v2>",env="prod"}',
                        "values": "2 2 2 2 2",
                    }
                ],
                "alert_rule_test": [
                    {
                        "eval_time": "4m",
                        "alertname": "ModelLatencyHigh",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "page",
                                    "team": "fraud-ml",
                                    "model": "fraud scorer&<v2>",
                                    "env": "prod",
                                },
                                "exp_annotations": {
                                    "summary": "p99 latency of fraud scorer&<v2> above 1s",
                                    "runbook_url": EXPANDED,
                                },
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "test.yml").write_text(yaml.safe_dump(unit))

    result = subprocess.run(  # noqa: S603 - fixed arguments
        [str(promtool), "test", "rules", "test.yml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_the_expanded_url_resolves_the_rule_and_labels(
    client: Client, member: User, team: Team
) -> None:
    book = runbook_save(
        runbook=Runbook(slug="v2-latency", title="v2 latency", owner_team=team),
        author=member,
        body="The v2 scorer runbook.",
    )
    AlertRule.objects.create(
        alertname="ModelLatencyHigh",
        matchers={"model": "fraud scorer&<v2>"},
        runbook=book,
        owner_team=team,
    )
    AlertRule.objects.create(alertname="ModelLatencyHigh", owner_team=team)
    parts = urlsplit(EXPANDED)
    client.force_login(member)

    html = client.get(f"{parts.path}?{parts.query}").content.decode()

    assert "The v2 scorer runbook." in html
    assert '<code>model="fraud scorer&amp;&lt;v2&gt;"</code>' in html
    assert '<code>env="prod"</code>' in html
