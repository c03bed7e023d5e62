from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alerts.models import AlertRule, Review, RuleFlag
from alerts.review.selectors import agenda_items
from fleet.models import Team
from tests.alerts.review.conftest import flag, stats


@pytest.fixture
def seeded(make_rule: Callable[..., AlertRule], team: Team, week: str) -> list[AlertRule]:
    first = make_rule("First", owner_team=team, severity="page")
    flag(first, week, "sleep_thief", "3 sleep-hour pages")
    second = make_rule("Second", owner_team=team)
    flag(second, week, "ignored", "nobody looked")
    return [first, second]


def test_start_freezes_the_agenda_against_a_later_evaluation(
    client: Client,
    member: User,
    seeded: list[AlertRule],
    make_rule: Callable[..., AlertRule],
    team: Team,
    week: str,
) -> None:
    first, second = seeded
    client.force_login(member)
    response = client.post(f"/review/{week}/start/", {"team": team.slug})
    assert response.status_code == 302
    review = Review.objects.get(week=week, team=team)
    assert [entry["rule"] for entry in review.agenda] == [first.pk, second.pk]
    assert review.started_by == member
    assert list(review.attendees.all()) == [member]

    # A re-evaluation now would rank Second first, drop First's flag and add a new rule.
    RuleFlag.objects.filter(rule=first).delete()
    flag(second, week, "noisy", "80 fires")
    stats(second, week, fires=80, interruptions_sleep=9)
    late = make_rule("Late", owner_team=team, severity="page")
    flag(late, week, "sleep_thief", "appeared during the meeting")

    items = agenda_items(week=week, team=team, review=review)
    assert [i.rule.alertname for i in items] == ["First", "Second", "Late"]
    assert [f.flag for f in items[0].flags] == ["sleep_thief"]  # kept from the frozen agenda
    new_flags = {(f.flag, f.new_since_start) for f in items[1].flags}
    assert new_flags == {("ignored", False), ("noisy", True)}
    assert items[2].new_since_start

    html = client.get(f"/review/{week}/?team={team.slug}").content.decode()
    assert html.count("new since start") >= 2
    assert html.index("First") < html.index("Second") < html.index("appeared during the meeting")


def test_starting_twice_keeps_the_first_frozen_agenda(
    client: Client, member: User, seeded: list[AlertRule], team: Team, week: str
) -> None:
    client.force_login(member)
    client.post(f"/review/{week}/start/", {"team": team.slug})
    RuleFlag.objects.all().delete()
    client.post(f"/review/{week}/start/", {"team": team.slug})
    assert len(Review.objects.get().agenda) == 2


def test_attendees_notes_and_close_make_the_review_read_only(
    client: Client,
    member: User,
    make_user: Callable[..., User],
    seeded: list[AlertRule],
    team: Team,
    week: str,
) -> None:
    guest = make_user("guest")
    client.force_login(member)
    client.post(f"/review/{week}/start/", {"team": team.slug})
    client.post(
        f"/review/{week}/meeting/",
        {"team": team.slug, "attendees": [member.pk, guest.pk], "notes": "Pruned the drift pack."},
    )
    review = Review.objects.get()
    assert set(review.attendees.all()) == {member, guest}
    assert review.notes == "Pruned the drift pack."

    client.post(f"/review/{week}/close/", {"team": team.slug})
    review.refresh_from_db()
    assert review.closed_at is not None and review.closed_by == member

    client.post(f"/review/{week}/meeting/", {"team": team.slug, "notes": "rewritten"})
    review.refresh_from_db()
    assert review.notes == "Pruned the drift pack."
    html = client.get(f"/review/{week}/?team={team.slug}").content.decode()
    assert "read-only" in html
    assert "Record decision" not in html


def test_only_team_members_start_their_teams_review_and_staff_the_fleet_one(
    client: Client, make_user: Callable[..., User], member: User, team: Team, week: str
) -> None:
    client.force_login(make_user("outsider"))
    assert client.post(f"/review/{week}/start/", {"team": team.slug}).status_code == 403
    client.force_login(member)
    assert client.post(f"/review/{week}/start/").status_code == 403
    client.force_login(make_user("boss", staff=True))
    assert client.post(f"/review/{week}/start/").status_code == 302
    assert Review.objects.filter(team=None, week=week).exists()
