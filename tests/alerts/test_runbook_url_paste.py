"""The exact runbook_url annotation shows where a user needs it: `import_rules` output (per
rule) and the rule detail page."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from alerts.models import AlertRule
from fleet.models import AISystem, Team

pytestmark = pytest.mark.django_db

RULES = """groups:
- name: latency
  rules:
  - alert: ModelLatencyHigh
    expr: model_latency_p99_seconds > 1
    labels: {severity: page, team: fraud-ml, model: fraud-scorer-v2}
    annotations:
      runbook_url: "http://127.0.0.1:8000/runbooks/for/ModelLatencyHigh/?model={{ $labels.model }}"
  - alert: GpuMemoryHigh
    expr: gpu_memory_used_ratio > 0.9
    labels: {severity: ticket, team: fraud-ml}
"""


def test_import_rules_prints_the_annotation_to_paste_per_rule(team: Team, tmp_path: Path) -> None:
    AISystem.objects.create(slug="fraud-scorer-v2", name="Fraud scorer v2", owner_team=team)
    path = tmp_path / "rules.yml"
    path.write_text(RULES)
    out = StringIO()
    call_command("import_rules", str(path), stdout=out)
    lines = out.getvalue().splitlines()
    assert (
        f"    {path}: latency: ModelLatencyHigh{{model=fraud-scorer-v2}}: runbook_url: "
        '"http://127.0.0.1:8000/runbooks/for/ModelLatencyHigh/?model=fraud-scorer-v2"'
    ) in lines
    assert (
        f"    {path}: latency: GpuMemoryHigh: runbook_url: "
        '"http://127.0.0.1:8000/runbooks/for/GpuMemoryHigh/"'
    ) in lines


def test_rule_detail_shows_the_annotation(client: Client, member: User, team: Team) -> None:
    rule = AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "fraud scorer&v2"}, owner_team=team
    )
    client.force_login(member)
    html = client.get(f"/alerts/{rule.pk}/").content.decode()
    assert (
        'runbook_url: "http://127.0.0.1:8000/runbooks/for/ModelLatencyHigh/'
        '?model=fraud+scorer%26v2"'
    ) in html
