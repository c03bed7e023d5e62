"""The demo history on a small catalog: every flag appears, and a re-run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.models import AlertRule, Decision, Engagement, Episode, Feedback, Flag, RuleFlag
from core.weeks import week_of, weeks_back
from demo.history import demo_history_seed
from fleet.models import AISystem, Membership, Team
from runbooks.models import Runbook

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)


def _catalog() -> None:
    user = User.objects.create_user("lead")
    fraud = Team.objects.create(slug="fraud", name="Fraud", timezone="Europe/Berlin")
    search = Team.objects.create(slug="search", name="Search", timezone="America/Los_Angeles")
    Team.objects.create(slug="ghost", name="Ghost")  # no members
    Membership.objects.create(team=fraud, user=user)
    Membership.objects.create(team=search, user=user)
    scorer = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=fraud)
    fresh = Runbook.objects.create(slug="fresh", title="Fresh", last_reviewed_at=NOW)
    stale = Runbook.objects.create(
        slug="stale", title="Stale", last_reviewed_at=NOW.replace(year=2025)
    )
    specs = [
        ("FraudScorerDown", "page", fraud, scorer, fresh),
        ("FraudScorerLatency", "warning", fraud, scorer, fresh),
        ("FraudScorerErrors", "warning", fraud, scorer, fresh),
        ("SearchIndexLag", "critical", search, None, fresh),
        ("SearchQueueFull", "warning", search, None, fresh),
        ("SearchDrift", "warning", search, None, stale),
        ("CTRDrop", "warning", search, None, fresh),
        ("FeatureNulls", "ticket", None, None, fresh),
        ("ConversionDip", "warning", fraud, None, None),
        ("OldBatchJob", "info", fraud, None, fresh),
        ("PredictionVolumeLow", "warning", fraud, None, fresh),
        ("GhostAlert", "warning", Team.objects.get(slug="ghost"), None, fresh),
    ]
    for name, severity, team, system, runbook in specs:
        AlertRule.objects.create(
            alertname=name, severity=severity, owner_team=team, system=system, runbook=runbook
        )


def _state() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int, int]:
    episodes = sorted(
        Episode.objects.values_list("rule__alertname", "fingerprint", "starts_at", "ends_at")
    )
    flags = sorted(RuleFlag.objects.values_list("rule__alertname", "week", "flag", "message"))
    return episodes, flags, Engagement.objects.count(), Feedback.objects.count()


def test_demo_history_raises_every_flag_and_is_idempotent() -> None:
    _catalog()
    created = demo_history_seed(now=NOW).episodes
    assert created == Episode.objects.count() > 300
    for episode in Episode.objects.select_related("rule"):
        assert episode.fingerprint == fingerprint(episode.labels)
        assert episode.labels["alertname"] == episode.rule.alertname
        assert episode.system_id == episode.rule.system_id
    decisions = Decision.objects.count()
    assert decisions >= 1  # this small catalog has few rules a team lead can decide for
    weeks = weeks_back(week_of(NOW), 8)
    assert set(Episode.objects.values_list("starts_at", flat=True)) and all(
        week_of(start) in weeks for start in Episode.objects.values_list("starts_at", flat=True)
    )
    raised = set(RuleFlag.objects.values_list("flag", flat=True))
    assert raised == set(Flag.values)
    assert set(RuleFlag.objects.values_list("week", flat=True)) == set(weeks)
    assert Feedback.objects.exists() and Engagement.objects.exists()
    this_week = set(RuleFlag.objects.filter(week=weeks[-1]).values_list("flag", flat=True))
    assert {Flag.NOISY, Flag.FLAPPING, Flag.DUPLICATE, Flag.STUCK, Flag.SILENT} <= this_week

    first = _state()
    assert demo_history_seed(now=NOW).episodes == created
    assert Decision.objects.count() == decisions
    assert _state() == first


def test_demo_history_on_an_empty_catalog_only_adds_the_uncatalogued_example() -> None:
    assert demo_history_seed(now=NOW).episodes == 5
    assert AlertRule.objects.get().catalogued is False
    assert NOW - timedelta(weeks=8) < Episode.objects.earliest("starts_at").starts_at
