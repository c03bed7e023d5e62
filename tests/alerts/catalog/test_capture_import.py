"""`import_rules` and `sync_prometheus` cannot take another team's alerts unless told to."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from alerts.models import AlertRule
from fleet.models import Team

pytestmark = pytest.mark.django_db

TAKEOVER = {
    "groups": [
        {
            "name": "fraud",
            "rules": [
                {
                    "alert": "ModelLatencyHigh",
                    "expr": "vector(1)",
                    "labels": {"team": "fraud-ml", "model": "recommender-v7", "severity": "page"},
                }
            ],
        }
    ]
}


@pytest.fixture
def recsys(team: Team) -> Team:
    return Team.objects.create(slug="recsys", name="Recommendations")


@pytest.fixture
def victim_rule(recsys: Team) -> AlertRule:
    """recsys's catch-all: a rule with `model=…` is more specific and would win."""
    return AlertRule.objects.create(alertname="ModelLatencyHigh", owner_team=recsys)


def run(command: str, *args: str, **options: Any) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def rule_file(tmp_path: Path) -> Path:
    path = tmp_path / "fraud.yml"
    path.write_text(yaml.safe_dump(TAKEOVER))
    return path


def test_import_refuses_a_rule_that_takes_another_teams_alerts(
    rule_file: Path, victim_rule: AlertRule
) -> None:
    output = run("import_rules", str(rule_file))
    assert "refused:" in output and "recsys's rule" in output
    assert "--allow-takeover" in output
    assert "0 created" in output and "1 refused" in output
    assert AlertRule.objects.count() == 1


def test_import_may_take_over_when_told_or_run_for_the_losing_team(
    rule_file: Path, victim_rule: AlertRule
) -> None:
    assert "1 created" in run("import_rules", str(rule_file), team="recsys")
    AlertRule.objects.exclude(pk=victim_rule.pk).delete()
    assert "1 created" in run("import_rules", str(rule_file), allow_takeover=True)
    AlertRule.objects.exclude(pk=victim_rule.pk).delete()
    # Importing "as" the team that takes does not count as the losing team's consent.
    assert "1 refused" in run("import_rules", str(rule_file), team="fraud-ml")


def test_import_cannot_rewrite_the_owner_of_another_teams_rule(
    rule_file: Path, recsys: Team
) -> None:
    """Same alertname and matchers: the file's team label would move recsys's rule."""
    existing = AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "recommender-v7"}, owner_team=recsys
    )
    output = run("import_rules", str(rule_file))
    assert "1 refused" in output
    existing.refresh_from_db()
    assert existing.owner_team == recsys


def test_rules_of_one_import_do_not_conflict_with_each_other(tmp_path: Path, recsys: Team) -> None:
    """A catch-all and a specific rule arriving together: nobody owned either before."""
    layered = yaml.safe_load(yaml.safe_dump(TAKEOVER))
    catch_all = {"alert": "ModelLatencyHigh", "expr": "vector(1)", "labels": {"team": "recsys"}}
    layered["groups"][0]["rules"].insert(0, catch_all)
    path = tmp_path / "layered.yml"
    path.write_text(yaml.safe_dump(layered))
    assert "2 created" in run("import_rules", str(path))


def test_sync_prometheus_refuses_a_takeover_too(
    monkeypatch: pytest.MonkeyPatch, victim_rule: AlertRule
) -> None:
    from alerts.management.commands import sync_prometheus

    groups = [
        {
            "name": "fraud",
            "rules": [
                {
                    "type": "alerting",
                    "name": "ModelLatencyHigh",
                    "query": "vector(1)",
                    "duration": 0,
                    "labels": {"team": "fraud-ml", "model": "recommender-v7"},
                }
            ],
        }
    ]
    monkeypatch.setattr(sync_prometheus, "prometheus_rule_groups", lambda url: groups)
    output = run("sync_prometheus", url="http://prometheus.invalid")
    assert "1 refused" in output and "recsys's rule" in output
    assert "1 created" in run("sync_prometheus", url="http://prometheus.invalid", team="recsys")
