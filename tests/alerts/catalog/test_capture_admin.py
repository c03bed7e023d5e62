"""The admin writes rules through the same capture check; staff confirm a takeover."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.models import AlertRule
from fleet.models import AISystem, Team


@pytest.fixture
def staff(make_user: Callable[..., User], client: Client) -> Client:
    client.force_login(make_user("root", staff=True, is_superuser=True))
    return client


@pytest.fixture
def victim_rule(db: None) -> AlertRule:
    recsys = Team.objects.create(slug="recsys", name="Recommendations")
    return AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "recommender-v7"}, owner_team=recsys
    )


def rule_form(team: Team, **fields: Any) -> dict[str, Any]:
    return {
        "alertname": "ModelLatencyHigh",
        "matchers": '{"model": "recommender-v7", "env": "prod"}',
        "owner_team": team.pk,
        "status": "active",
        "source": "manual",
        "catalogued": "on",
        "labels": "{}",
        **fields,
    }


def test_admin_add_that_takes_another_teams_alerts_asks_for_confirmation(
    staff: Client, team: Team, victim_rule: AlertRule
) -> None:
    response = staff.post("/admin/alerts/alertrule/add/", rule_form(team))
    assert response.status_code == 200
    assert "recsys" in response.content.decode()
    assert AlertRule.objects.count() == 1
    response = staff.post("/admin/alerts/alertrule/add/", rule_form(team, take_over="on"))
    assert response.status_code == 302
    assert AlertRule.objects.count() == 2


def test_admin_change_that_takes_another_teams_alerts_asks_for_confirmation(
    staff: Client, team: Team, victim_rule: AlertRule
) -> None:
    ours = AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "fraud-scorer"}, owner_team=team
    )
    url = f"/admin/alerts/alertrule/{ours.pk}/change/"
    assert staff.post(url, rule_form(team)).status_code == 200
    ours.refresh_from_db()
    assert ours.matchers == {"model": "fraud-scorer"}
    assert staff.post(url, rule_form(team, take_over="on")).status_code == 302
    ours.refresh_from_db()
    assert ours.matchers == {"model": "recommender-v7", "env": "prod"}


def test_admin_add_without_capture_needs_no_confirmation(staff: Client, team: Team) -> None:
    response = staff.post("/admin/alerts/alertrule/add/", rule_form(team))
    assert response.status_code == 302


def test_admin_inline_on_a_system_asks_too(
    staff: Client, team: Team, victim_rule: AlertRule
) -> None:
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud", owner_team=team)
    prefix = "alert_rules"
    data = {
        "slug": system.slug,
        "name": system.name,
        "kind": system.kind,
        "tier": system.tier,
        "lifecycle": system.lifecycle,
        "environment": system.environment,
        "owner_team": team.pk,
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-0-alertname": "ModelLatencyHigh",
        # Two matchers without a model: they still outrank recsys's one where both hold.
        f"{prefix}-0-matchers": '{"env": "prod", "region": "eu"}',
        f"{prefix}-0-owner_team": team.pk,
        f"{prefix}-0-status": "active",
    }
    response = staff.post(f"/admin/fleet/aisystem/{system.pk}/change/", data)
    assert response.status_code == 200, response.content
    assert "recsys" in response.content.decode()
    assert AlertRule.objects.count() == 1
