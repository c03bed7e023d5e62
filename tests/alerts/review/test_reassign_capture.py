"""A review's reassign goes through the same capture check as every other rule write."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied

from alerts.models import AlertRule
from alerts.review.services import decision_record
from fleet.models import AISystem, Membership, Team


@pytest.fixture
def recsys_system(other_team: Team) -> AISystem:
    return AISystem.objects.create(slug="recommender-v7", name="Rec", owner_team=other_team)


def test_claiming_a_rule_its_system_owns_is_refused(
    make_rule: Callable[..., AlertRule],
    member: User,
    week: str,
    team: Team,
    recsys_system: AISystem,
) -> None:
    """No owner_team, but its system's team owns it (alerts.catalog.ownership): not a stray."""
    rule = make_rule("ModelLatencyHigh", matchers={"model": "recommender-v7"}, system=recsys_system)
    with pytest.raises(PermissionDenied, match="recsys"):
        decision_record(user=member, rule=rule, week=week, kind="reassign", reassign_to=team)
    rule.refresh_from_db()
    assert rule.owner_team is None


def test_the_owning_team_may_give_its_rule_away(
    make_rule: Callable[..., AlertRule],
    make_user: Callable[..., User],
    week: str,
    team: Team,
    other_team: Team,
) -> None:
    rule = make_rule(
        "ModelLatencyHigh", matchers={"model": "recommender-v7"}, owner_team=other_team
    )
    lead = make_user("recsys-lead")
    Membership.objects.create(team=other_team, user=lead)
    decision_record(user=lead, rule=rule, week=week, kind="reassign", reassign_to=team)
    rule.refresh_from_db()
    assert rule.owner_team == team


def test_a_truly_unowned_rule_may_still_be_claimed(
    make_rule: Callable[..., AlertRule], member: User, week: str, team: Team
) -> None:
    rule = make_rule("Orphan")
    decision_record(user=member, rule=rule, week=week, kind="reassign", reassign_to=team)
    rule.refresh_from_db()
    assert rule.owner_team == team
