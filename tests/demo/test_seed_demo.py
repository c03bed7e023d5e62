from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db.models import Count

from alerts.models import AlertRule
from core.choices import Layer, Severity
from fleet.models import AISystem, Membership, Team
from fleet_coverage.dashboards.selectors import layer_gaps
from runbooks.models import Runbook, RunbookRevision

pytestmark = pytest.mark.django_db

MODELS = (Team, Membership, User, AISystem, AlertRule, Runbook, RunbookRevision)


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--now", "2026-11-25T14:30:00+00:00", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {m._meta.label: m._default_manager.count() for m in MODELS}


def test_seed_demo_is_idempotent() -> None:
    _seed()
    first = _counts()
    rules = list(AlertRule.objects.values().order_by("pk"))
    output = _seed()
    assert _counts() == first
    assert list(AlertRule.objects.values().order_by("pk")) == rules
    assert "Created: nothing" in output


def test_seed_demo_prints_the_login_last() -> None:
    lines = _seed().strip().splitlines()
    assert lines[-2:] == ["  username: admin", "  password: steward-demo"]
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("steward-demo")


def test_seed_demo_builds_a_believable_fleet() -> None:
    _seed()
    teams = Team.objects.annotate(n=Count("memberships"))
    assert sum(1 for t in teams if t.n) >= 6
    for team in teams:
        team.full_clean()  # real tz database names
        if team.n:
            assert team.memberships.filter(role=Membership.Role.LEAD).count() == 1
    assert AISystem.objects.count() >= 25
    for system in AISystem.objects.all():
        system.full_clean()  # link templates are valid
        assert system.dashboard_url and system.trace_url_template and system.log_url_template
    for slug in ("churn-model", "recommender-v7", "fraud-scorer", "support-agent"):
        assert AISystem.objects.filter(slug=slug).exists()
    assert set(AISystem.objects.values_list("kind", flat=True)) == set(AISystem.Kind.values)
    assert AlertRule.objects.count() >= 120
    assert set(AlertRule.objects.values_list("layer", flat=True)) >= set(Layer.values)
    assert set(AlertRule.objects.values_list("severity", flat=True)) >= set(Severity.values)
    for runbook in Runbook.objects.all():
        for section in ("Summary", "Impact", "Diagnosis", "Mitigation", "Escalation"):
            assert f"## {section}" in runbook.body
        assert runbook.revisions.count() == 1


def test_seed_demo_has_deliberate_gaps() -> None:
    _seed()
    assert AlertRule.objects.filter(owner_team__isnull=True, catalogued=True).exists()
    assert AlertRule.objects.filter(runbook__isnull=True).count() >= 10
    assert Runbook.objects.stale().count() >= 2
    assert Runbook.objects.filter(last_reviewed_at__isnull=True).exists()
    assert Team.objects.filter(memberships__isnull=True, systems__isnull=False).exists()
    assert AlertRule.objects.filter(catalogued=False).exists()
    assert AISystem.objects.filter(owner_team__isnull=True).exists()
    assert AlertRule.objects.filter(status=AlertRule.Status.MUTED, muted_until=None).exists()
    assert layer_gaps()  # pipelines and services lack business alerts
    # One alertname serves several systems through matchers.
    assert AlertRule.objects.filter(alertname="ModelLatencyHigh").count() >= 10
