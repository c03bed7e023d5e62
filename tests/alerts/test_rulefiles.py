from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.test import override_settings

from alerts.catalog.rulefiles import parse_duration, rules_import
from alerts.models import AlertRule
from fleet.models import AISystem, Team
from runbooks.models import Runbook
from runbooks.services import runbook_save

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
CAPTURE = FIXTURES / "capture-rules.yml"
FLEET = FIXTURES / "fleet-rules.yml"


def _import(*paths: Path) -> str:
    from io import StringIO

    out = StringIO()
    call_command("import_rules", *[str(p) for p in paths], stdout=out)
    return out.getvalue()


@pytest.fixture
def fleet(team: Team) -> None:
    AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=team)
    runbook_save(runbook=Runbook(slug="fraud-scorer-latency"), author=None, title="Latency")
    runbook_save(runbook=Runbook(slug="fraud-loss-rate-high"), author=None, title="Losses")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("5m", 300), ("1h30m", 5400), ("90s", 90), ("500ms", 0.5), (120, 120), (0, None)],
)
def test_parse_duration(text: object, seconds: float | None) -> None:
    expected = None if seconds is None else timedelta(seconds=seconds)
    assert parse_duration(text) == expected


def test_parse_duration_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        parse_duration("5 minutes")


def test_shared_capture_rules_create_one_rule_per_model_label() -> None:
    Team.objects.create(slug="recsys", name="Recsys")
    output = _import(CAPTURE)
    rules = {(r.alertname, r.matchers_key): r for r in AlertRule.objects.all()}
    assert set(rules) == {
        ("ModelLatencyHigh", "model=fraud-scorer"),
        ("ModelLatencyHigh", "model=recommender-v7"),
        ("FeatureDriftHigh", "model=recommender-v7"),
    }
    recsys = rules[("ModelLatencyHigh", "model=recommender-v7")]
    assert recsys.owner_team is not None and recsys.owner_team.slug == "recsys"
    assert recsys.severity == "page"
    assert recsys.source == "prometheus" and recsys.catalogued
    assert rules[("FeatureDriftHigh", "model=recommender-v7")].summary.startswith("PSI above 0.2")
    assert "3 created, 0 updated, 0 unchanged" in output
    assert "team 'fraud-ml' is not a Steward team" in output
    assert "no layer label" in output


@pytest.mark.parametrize(("path", "count"), [(CAPTURE, 3), (FLEET, 3)])
@override_settings(STEWARD_BASE_URL="https://steward.example.com")
def test_reimport_changes_nothing(fleet: None, path: Path, count: int) -> None:
    _import(path)
    before = list(AlertRule.objects.values().order_by("pk"))
    output = _import(path)
    assert f"0 created, 0 updated, {count} unchanged" in output
    assert list(AlertRule.objects.values().order_by("pk")) == before


@override_settings(STEWARD_BASE_URL="https://steward.example.com")
def test_fleet_file_maps_every_field(fleet: None) -> None:
    output = _import(FLEET)
    latency = AlertRule.objects.get(alertname="ModelLatencyHigh")
    assert latency.matchers == {"model": "fraud-scorer"}
    assert latency.owner_team is not None and latency.owner_team.slug == "fraud-ml"
    assert latency.system is not None and latency.system.slug == "fraud-scorer"
    assert (latency.severity, latency.layer) == ("page", "infra")
    assert latency.for_duration == timedelta(minutes=5)
    assert latency.runbook is not None and latency.runbook.slug == "fraud-scorer-latency"
    assert latency.expression.startswith("histogram_quantile(0.99")
    loss = AlertRule.objects.get(alertname="FraudLossRateHigh")
    assert loss.for_duration == timedelta(minutes=90)
    assert loss.runbook is not None and loss.runbook.slug == "fraud-loss-rate-high"
    assert "1 recording rules skipped" in output


@override_settings(STEWARD_BASE_URL="https://steward.example.com")
def test_unmappable_rule_is_imported_and_reported(fleet: None) -> None:
    output = _import(FLEET)
    odd = AlertRule.objects.get(alertname="SomethingOdd")
    assert (odd.owner_team, odd.severity, odd.layer, odd.runbook) == (None, "", "", None)
    assert "could not map" in output
    assert "team 'nobody-knows' is not a Steward team" in output
    assert "severity 'urgent' is not one of page, critical, warning, ticket, info" in output
    assert "layer 'vibes' is not one of infra, ml, business" in output
    assert "runbook_url https://wiki.example.com/odd is not on Steward" in output


def test_reimport_updates_changed_fields_and_keeps_admin_choices(
    fleet: None, tmp_path: Path
) -> None:
    # The same file (rules remember it), first as shipped, then edited.
    path = tmp_path / "rules.yml"
    path.write_text(FLEET.read_text())
    _import(path)
    rule = AlertRule.objects.get(alertname="SomethingOdd")
    rule.owner_team = Team.objects.get(slug="fraud-ml")  # set by an admin
    rule.save()
    changed = FLEET.read_text().replace("expr: vector(1)", "expr: vector(2)")
    path.write_text(changed)
    output = _import(path)
    assert "0 created, 1 updated, 2 unchanged" in output
    rule.refresh_from_db()
    assert rule.expression == "vector(2)"
    assert rule.owner_team is not None  # an unknown team label does not erase the owner


def test_yaml_errors_name_file_and_line_and_do_not_fail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules:\n      - alert: [unclosed\n")
    not_rules = tmp_path / "list.yml"
    not_rules.write_text("- 1\n- 2\n")
    output = _import(broken, not_rules, CAPTURE)
    assert f"{broken} line 5: Invalid YAML" in output
    assert f"{not_rules} line 1: Not a Prometheus rule file" in output
    assert "3 created" in output


def test_unreadable_file_exits_non_zero_after_importing_the_rest(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Could not read 1 file"):
        _import(tmp_path / "missing.yml", CAPTURE)
    assert AlertRule.objects.count() == 3


def test_api_shape_is_mapped_like_a_file(team: Team) -> None:
    groups = [
        {
            "name": "fleet",
            "rules": [
                {
                    "type": "alerting",
                    "name": "ModelLatencyHigh",
                    "query": "vector(1) > 0",
                    "duration": 300,
                    "labels": {"team": "fraud-ml", "severity": "page", "layer": "infra"},
                    "annotations": {"summary": "slow"},
                    "state": "inactive",
                    "alerts": [],
                },
                {"type": "recording", "name": "job:x", "query": "sum(x)"},
            ],
        }
    ]
    report = rules_import(groups=groups, origin="api")
    assert len(report.created) == 1 and report.recording_skipped == 1
    rule = AlertRule.objects.get()
    assert rule.expression == "vector(1) > 0"
    assert rule.for_duration == timedelta(minutes=5)
    assert rule.owner_team == team


def test_the_same_rule_twice_in_one_source_is_reported(team: Team) -> None:
    rule = {"alert": "A", "expr": "vector(1)", "labels": {"model": "m"}}
    report = rules_import(groups=[{"name": "g", "rules": [rule, rule]}], origin="f.yml")
    assert len(report.created) == 1
    assert any("defined twice" in message for _, message in report.unmapped)


@override_settings(STEWARD_BASE_URL="http://127.0.0.1:18000")
def test_runbook_for_alertname_reuses_the_runbook_of_a_sibling_rule(team: Team) -> None:
    runbook = runbook_save(runbook=Runbook(slug="generic-latency"), author=None, title="Latency")
    AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "other"}, runbook=runbook
    )
    _import(CAPTURE)
    linked = AlertRule.objects.get(alertname="ModelLatencyHigh", matchers_key="model=fraud-scorer")
    assert linked.runbook == runbook


@override_settings(STEWARD_BASE_URL="https://steward.example.com/steward")
def test_runbook_url_outside_the_base_path_is_reported(team: Team) -> None:
    rule = {
        "alert": "A",
        "expr": "vector(1)",
        "annotations": {"runbook_url": "https://steward.example.com/runbooks/x/"},
    }
    report = rules_import(groups=[{"name": "g", "rules": [rule]}], origin="f.yml")
    assert any("is not on Steward" in message for _, message in report.unmapped)


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ({"expr": "vector(1)"}, "no alert name"),
        ({"alert": "A" * 201, "expr": "vector(1)"}, "longer than 200 characters"),
        ({"alert": "A", "labels": ["team", "x"]}, "labels must be a mapping"),
        ({"alert": "A", "annotations": "summary"}, "annotations must be a mapping"),
        ("just text", "a rule must be a mapping"),
    ],
)
def test_malformed_rules_are_reported_and_skipped(rule: object, problem: str) -> None:
    report = rules_import(groups=[{"name": "g", "rules": [rule]}], origin="f.yml")
    assert [(where, problem in message) for where, message in report.unmapped] == [
        ("f.yml: g rule 1", True)
    ]
    assert not AlertRule.objects.exists()


def test_group_without_rules_list_is_reported() -> None:
    report = rules_import(groups=[{"name": "g"}, "x"], origin="f.yml")
    assert [message for _, message in report.unmapped] == ["a group needs a rules list"] * 2


def test_capture_fixture_is_a_copy_of_the_shared_one() -> None:
    document = yaml.safe_load(CAPTURE.read_text())
    names = [r["alert"] for g in document["groups"] for r in g["rules"]]
    assert names.count("ModelLatencyHigh") == 2
