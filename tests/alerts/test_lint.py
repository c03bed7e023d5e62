"""The lint gate service and its output formats over good and bad rule files."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from alerts.lint.engine import lint_rule_files
from alerts.lint.output import render
from alerts.models import AlertRule, Waiver
from fleet.models import Team
from runbooks.models import Runbook

RULES = Path(__file__).parent / "fixtures" / "rules"


def lint(*names: str) -> Any:
    return lint_rule_files([(name, (RULES / name).read_text()) for name in names])


@pytest.fixture
def catalog(team: Team, member: User) -> None:
    runbook = Runbook.objects.create(slug="latency", title="Latency", owner_team=team)
    Runbook.objects.create(slug="drift", title="Drift", owner_team=team)
    AlertRule.objects.create(alertname="ModelLatencyHigh", owner_team=team, runbook=runbook)
    AlertRule.objects.create(alertname="FeatureDriftHigh", owner_team=team, layer="ml")


def test_good_file_passes(catalog: None) -> None:
    report = lint("good.yml")
    assert report.ok, render(report, "text")
    assert (report.alerts, report.recording_rules, report.groups) == (2, 1, 1)
    assert report.violations == []


def test_bad_file_reports_each_violation_with_line_and_check(catalog: None) -> None:
    report = lint("bad.yml")
    assert not report.ok
    found = {(v.line, v.alert, v.check) for v in report.violations}
    assert found == {
        (4, "NoOwner", "owner"),
        (16, "PagesTooFast", "severity"),
        (17, "PagesTooFast", "owner"),
        (18, "PagesTooFast", "layer"),
        (19, "PagesTooFast", "summary"),
        (20, "PagesTooFast", "runbook_url"),
        (21, "CriticalNoFor", "for"),
        (22, "CriticalNoFor", "promql"),
        (29, "CriticalNoFor", "runbook_url"),
        (31, "Typo", "promql"),
        (33, "Typo", "runbook_url"),
    }
    assert all(v.group == "recommender" and v.file == "bad.yml" for v in report.violations)
    messages = " ".join(v.message for v in report.violations)
    assert "[5mm]" in messages and "ends with the operator '>'" in messages
    assert "sev1" in messages and "nobody-knows" in messages


def test_page_alert_with_short_for_fails(catalog: None) -> None:
    text = """groups:
- name: g
  rules:
  - alert: ModelLatencyHigh
    expr: up == 0
    for: 1m
    labels: {severity: page, team: fraud-ml, layer: infra}
    annotations: {summary: s, runbook_url: "http://127.0.0.1:8000/runbooks/latency/"}
"""
    report = lint_rule_files([("f.yml", text)])
    assert [(v.check, v.line) for v in report.violations] == [("for", 6)]
    assert "now 60s" in report.violations[0].message


def test_yaml_error_names_file_and_line(db: None) -> None:
    report = lint("broken.yml")
    assert [(v.file, v.line, v.check) for v in report.violations] == [("broken.yml", 6, "yaml")]


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "groups"),
        ("groups: 3\n", 1, "groups"),
        ("groups:\n- rules: []\n", 2, "name"),
        ("groups:\n- name: g\n", 2, "rules"),
        ("groups:\n- name: g\n  rules:\n  - expr: up\n", 4, "exactly one"),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n", 4, "expr"),
        ("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for: soon\n", 6, "for"),
    ],
)
def test_structure_errors(db: None, text: str, line: int, fragment: str) -> None:
    report = lint_rule_files([("s.yml", text)])
    assert [(v.check, v.line) for v in report.violations] == [("structure", line)]
    assert fragment in report.violations[0].message


def test_multiline_expression_points_at_the_right_line(catalog: None) -> None:
    text = """groups:
- name: g
  rules:
  - record: r
    expr: |
      sum(
        rate(x[5m])
      ) +
"""
    report = lint_rule_files([("m.yml", text)])
    assert [(v.check, v.line) for v in report.violations] == [("promql", 8)]


def test_active_waiver_turns_violation_into_waived(catalog: None, member: User) -> None:
    Waiver.objects.create(
        alertname="NoOwner",
        lint_check="owner",
        reason="Being handed over to search",
        approver=member,
        expires_at=timezone.now() + timedelta(days=5),
    )
    report = lint("bad.yml")
    waived = [v for v in report.violations if v.status == "waived"]
    assert [(v.alert, v.check) for v in waived] == [("NoOwner", "owner")]
    assert waived[0].waiver is not None and waived[0].waiver["approver"] == "member"
    assert report.as_dict()["waived"] == 1


def test_waiving_every_violation_passes_and_expired_waiver_fails_again(
    catalog: None, member: User
) -> None:
    text = (RULES / "bad.yml").read_text()
    first = lint_rule_files([("bad.yml", text)])
    for v in first.violations:
        Waiver.objects.get_or_create(
            alertname=v.alert,
            lint_check=v.check,
            defaults={
                "reason": "accepted",
                "approver": member,
                "expires_at": timezone.now() + timedelta(days=1),
            },
        )
    assert lint_rule_files([("bad.yml", text)]).ok
    Waiver.objects.filter(alertname="Typo").update(expires_at=timezone.now() - timedelta(days=1))
    again = lint_rule_files([("bad.yml", text)])
    assert not again.ok
    failing = [v for v in again.violations if v.status == "error"]
    assert {v.alert for v in failing} == {"Typo"}
    assert all("waiver expired on" in v.message for v in failing)


def test_json_output(catalog: None) -> None:
    data = json.loads(render(lint("bad.yml"), "json"))
    assert data["ok"] is False
    assert data["errors"] == len(data["violations"]) == 12
    assert set(data["violations"][0]) == {
        "file",
        "line",
        "group",
        "alert",
        "check",
        "message",
        "status",
        "waiver",
    }


def test_text_output_is_one_line_per_violation(catalog: None) -> None:
    text = render(lint("bad.yml"), "text")
    assert "bad.yml:16: error [severity] recommender/PagesTooFast: Severity `sev1`" in text
    assert text.strip().splitlines()[-1].startswith("steward lint FAILED: 1 file(s), 4 alert(s)")


def test_github_output_annotates_file_and_line(catalog: None, member: User) -> None:
    Waiver.objects.create(
        alertname="NoOwner",
        lint_check="owner",
        reason="ok, for now",
        approver=member,
        expires_at=timezone.now() + timedelta(days=5),
    )
    lines = render(lint("bad.yml"), "github").splitlines()
    assert "::error file=bad.yml,line=16,title=steward lint%3A severity (PagesTooFast)::" in (
        "\n".join(lines)
    )
    assert any(line.startswith("::notice file=bad.yml,line=4,") for line in lines)
    assert sum(line.startswith("::error ") for line in lines) == 11


def test_thousand_alert_file_uses_constant_queries(
    catalog: None, django_assert_max_num_queries: Any
) -> None:
    rule = """  - alert: Alert{i}
    expr: rate(errors_total{{job="j{i}"}}[5m]) > 1
    for: 5m
    labels: {{severity: page, team: fraud-ml, layer: infra}}
    annotations:
      summary: Errors
      runbook_url: http://127.0.0.1:8000/runbooks/for/Alert{i}/
"""
    text = "groups:\n- name: big\n  rules:\n" + "".join(rule.format(i=i) for i in range(1000))
    with django_assert_max_num_queries(4):
        report = lint_rule_files([("big.yml", text)])
    assert report.alerts == 1000
    assert {v.check for v in report.violations} == {"runbook_url"}


@pytest.mark.parametrize("for_", ["x", "30m1h", "5 minutes"])
def test_a_for_that_is_not_a_prometheus_duration_is_a_structure_error(db: None, for_: str) -> None:
    text = f"groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up == 0\n    for: {for_}\n"
    report = lint_rule_files([("a.yml", text)])
    assert [(v.check, v.line) for v in report.violations] == [("structure", 6)]
