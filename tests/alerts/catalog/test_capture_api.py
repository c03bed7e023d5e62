"""Ownership is claimed, not taken: the issue's attack through the API, and who may do it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.catalog.ownership import AlertQuery, ownership_resolve_many
from alerts.models import AlertRule
from alerts.selectors import rule_resolve
from fleet.models import Membership, Team
from tests.api_helpers import session_client, token_client

ATTACK = {
    "alertname": "ModelLatencyHigh",
    "matchers": {"model": "recommender-v7", "env": "prod"},
    "owner_team": "fraud-ml",
}


@pytest.fixture
def recsys(db: None) -> Team:
    return Team.objects.create(slug="recsys", name="Recommendations")


@pytest.fixture
def victim_rule(recsys: Team) -> AlertRule:
    return AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "recommender-v7"}, owner_team=recsys
    )


def owner_of(labels: dict[str, str]) -> str | None:
    answer = ownership_resolve_many([AlertQuery("ModelLatencyHigh", labels)])[0]
    return answer["team"]["slug"] if answer["team"] else None


def delivered_to(labels: dict[str, str]) -> str | None:
    """The owner of the rule a delivered alert with these labels lands on (ingest)."""
    rule = rule_resolve(AlertRule.objects.filter(alertname="ModelLatencyHigh"), labels)
    team = rule.owner if rule is not None else None
    return team.slug if team is not None else None


def post(client: Client, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/alert-rules/", body, content_type="application/json")


def test_another_teams_write_token_cannot_take_an_alert_over(
    team: Team, victim_rule: AlertRule
) -> None:
    response = post(token_client("write", team=team), ATTACK)
    assert response.status_code == 403, response.content
    message = response.json()["error"]["message"]
    assert "recsys" in message and f"#{victim_rule.pk}" in message
    assert AlertRule.objects.count() == 1
    assert owner_of({"model": "recommender-v7", "env": "prod"}) == "recsys"
    assert delivered_to({"model": "recommender-v7", "env": "prod"}) == "recsys"


def test_a_less_specific_rule_that_still_wins_is_refused(
    team: Team, victim_rule: AlertRule
) -> None:
    """Two matchers without the model still beat the victim's one where both hold."""
    body = {**ATTACK, "matchers": {"env": "prod", "region": "eu"}}
    response = post(token_client("write", team=team), body)
    assert response.status_code == 403, response.content


def test_a_rule_that_loses_every_tie_is_allowed(team: Team, victim_rule: AlertRule) -> None:
    """Same number of matchers: the older (victim's) rule keeps winning, so nothing is taken."""
    body = {**ATTACK, "matchers": {"env": "prod"}}
    response = post(token_client("write", team=team), body)
    assert response.status_code == 201, response.content
    assert delivered_to({"model": "recommender-v7", "env": "prod"}) == "recsys"


def test_a_rule_for_a_different_model_is_allowed(team: Team, victim_rule: AlertRule) -> None:
    body = {**ATTACK, "matchers": {"model": "fraud-scorer", "env": "prod"}}
    response = post(token_client("write", team=team), body)
    assert response.status_code == 201, response.content


def test_the_victim_team_may_make_its_own_rule_more_specific(
    recsys: Team, victim_rule: AlertRule
) -> None:
    response = post(token_client("write", team=recsys), {**ATTACK, "owner_team": "recsys"})
    assert response.status_code == 201, response.content


def test_a_member_of_both_teams_may_hand_the_alerts_over(
    team: Team, recsys: Team, victim_rule: AlertRule, make_user: Callable[..., User]
) -> None:
    both = make_user("both")
    Membership.objects.create(team=team, user=both)
    Membership.objects.create(team=recsys, user=both)
    response = post(session_client(both), ATTACK)
    assert response.status_code == 201, response.content
    assert owner_of({"model": "recommender-v7", "env": "prod"}) == "fraud-ml"


@pytest.mark.parametrize("actor", ["staff", "fleet_token"])
def test_staff_and_fleet_tokens_may_reassign_alerts(
    team: Team, victim_rule: AlertRule, make_user: Callable[..., User], actor: str
) -> None:
    client = (
        session_client(make_user("staff", staff=True))
        if actor == "staff"
        else token_client("write")
    )
    response = post(client, ATTACK)
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("method", ["put", "patch"])
def test_changing_ones_own_rule_to_capture_is_refused(
    team: Team, victim_rule: AlertRule, method: str
) -> None:
    ours = AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "fraud-scorer"}, owner_team=team
    )
    body = {**ATTACK} if method == "put" else {"matchers": ATTACK["matchers"]}
    client = token_client("write", team=team)
    response = getattr(client, method)(
        f"/api/v1/alert-rules/{ours.pk}/", body, content_type="application/json"
    )
    assert response.status_code == 403, response.content
    ours.refresh_from_db()
    assert ours.matchers == {"model": "fraud-scorer"}


def test_renaming_ones_rule_into_the_victims_alertname_is_refused(
    team: Team, victim_rule: AlertRule
) -> None:
    ours = AlertRule.objects.create(
        alertname="FeatureDrift", matchers=ATTACK["matchers"], owner_team=team
    )
    response = token_client("write", team=team).patch(
        f"/api/v1/alert-rules/{ours.pk}/",
        {"alertname": "ModelLatencyHigh"},
        content_type="application/json",
    )
    assert response.status_code == 403, response.content


def test_editing_a_rule_that_already_captured_with_consent_still_works(
    team: Team, victim_rule: AlertRule
) -> None:
    """A capture staff allowed once is not re-litigated on every edit of the summary."""
    ours = AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers=ATTACK["matchers"], owner_team=team
    )
    response = token_client("write", team=team).patch(
        f"/api/v1/alert-rules/{ours.pk}/", {"summary": "p99"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content


def test_the_system_owner_counts_as_the_owner(team: Team, recsys: Team) -> None:
    """A rule without owner_team belongs to its system's team (alerts.catalog.ownership)."""
    from fleet.models import AISystem

    system = AISystem.objects.create(slug="recommender-v7", name="Rec", owner_team=recsys)
    AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "recommender-v7"}, system=system
    )
    response = post(token_client("write", team=team), ATTACK)
    assert response.status_code == 403, response.content
