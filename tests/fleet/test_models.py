from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from fleet.models import AISystem, Membership, Team

pytestmark = pytest.mark.django_db


def test_team_slug_is_unique(team: Team) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(slug=team.slug, name="Another")


def test_membership_is_unique_per_team_and_user(team: Team, member: User) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(team=team, user=member, role=Membership.Role.MEMBER)


def test_user_can_be_member_of_several_teams(
    team: Team, member: User, make_user: Callable[..., User]
) -> None:
    other = Team.objects.create(slug="recsys", name="Recsys")
    Membership.objects.create(team=other, user=member)
    assert set(member.teams.values_list("slug", flat=True)) == {"fraud-ml", "recsys"}


def test_team_timezone_must_exist_in_tz_database() -> None:
    team = Team(slug="x", name="X", timezone="Europe/Atlantis")
    with pytest.raises(ValidationError) as excinfo:
        team.full_clean()
    assert "not a time zone of the tz database" in str(excinfo.value.message_dict["timezone"])
    Team(slug="y", name="Y", timezone="Asia/Kolkata").full_clean()


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("https://jaeger.example.com/search?start={start", "unbalanced braces"),
        ("https://logs.example.com/?q={model name}", "not a label name"),
        ("ftp://logs.example.com/{start}", "must start with http"),
    ],
)
def test_link_templates_reject_bad_values(template: str, message: str) -> None:
    system = AISystem(slug="s", name="S", trace_url_template=template)
    with pytest.raises(ValidationError) as excinfo:
        system.full_clean()
    assert message in str(excinfo.value.message_dict["trace_url_template"])


def test_link_template_with_window_and_label_placeholders_is_valid() -> None:
    AISystem(
        slug="fraud-scorer",
        name="Fraud scorer",
        log_url_template="https://kibana.example.com/?from={start}&to={end}&m={model}&x={{lit}}",
    ).full_clean()


def test_str_of_catalog_objects(team: Team, member: User) -> None:
    system = AISystem.objects.create(slug="s", name="Scorer", environment="prod")
    assert str(team) == "Fraud ML"
    assert str(system) == "Scorer (prod)"
    assert str(Membership.objects.get()) == "member in Fraud ML (Lead)"
