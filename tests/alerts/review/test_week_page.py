from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts.models import AlertRule, RuleFlag, RuleWeek
from alerts.review.numbers import header_numbers
from core.weeks import week_shift
from fleet.models import Team
from tests.alerts.review.conftest import flag, stats


def _seed_flagged(count: int, week: str, team: Team, prefix: str = "Bulk") -> None:
    rules = AlertRule.objects.bulk_create(
        AlertRule(
            alertname=f"{prefix}{i:04d}",
            severity="page" if i % 3 else "ticket",
            owner_team=team if i % 2 else None,
        )
        for i in range(count)
    )
    RuleFlag.objects.bulk_create(
        RuleFlag(rule=r, week=week, flag=f, message=f"{f} for {r.alertname}")
        for r in rules
        for f in ("noisy", "ignored")
    )
    RuleWeek.objects.bulk_create(
        RuleWeek(rule=r, week=week_shift(week, -back), fires=i % 30 + back)
        for i, r in enumerate(rules)
        for back in range(8)
    )


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_query_count_is_the_same_for_10_and_300_flagged_rules(
    client: Client, member: User, team: Team, week: str
) -> None:
    client.force_login(member)
    _seed_flagged(10, week, team)
    _seed_flagged(300, week_shift(week, -20), team, prefix="Many")
    small = _queries(client, f"/review/{week}/")
    large = _queries(client, f"/review/{week_shift(week, -20)}/")
    assert small == large
    assert large <= 20


def test_page_shows_agenda_ranked_with_flags_numbers_and_week_links(
    client: Client,
    member: User,
    make_rule: Callable[..., AlertRule],
    team: Team,
    week: str,
    django_assert_max_num_queries: Callable[..., object],
) -> None:
    client.force_login(member)
    ticket = make_rule("QuietTicket", severity="ticket", owner_team=team)
    flag(ticket, week, "silent", "has not fired in 120 days")
    thief = make_rule("NightPager", severity="page", owner_team=team)
    flag(thief, week, "sleep_thief", "woke someone 4 times between 22:00 and 08:00")
    stats(thief, week, fires=9, interruptions_sleep=4, interruptions_business=5)
    stats(thief, week_shift(week, -1), fires=3, interruptions_business=3)

    with django_assert_max_num_queries(20):  # type: ignore[operator]
        response = client.get(f"/review/{week}/")

    html = response.content.decode()
    assert html.index("NightPager") < html.index("QuietTicket")
    assert "woke someone 4 times between 22:00 and 08:00" in html
    assert "has not fired in 120 days" in html
    assert f'href="/review/{week_shift(week, -1)}/"' in html
    assert f'href="/review/{week_shift(week, 1)}/"' in html
    assert "Fires per week, last 12 weeks" in html
    # No decision form until one is asked for; a link per item opens it.
    assert 'class="decision-form"' not in html
    assert f'?decide={thief.pk}#rule-{thief.pk}"' in html
    # Header: 9 pages this week against 3 the week before.
    assert '<div class="value">9</div>' in html


def test_header_compares_with_the_previous_four_weeks(
    make_rule: Callable[..., AlertRule],
    week: str,
    fresh_runbook: object,
    member: User,
    team: Team,
) -> None:
    owned = make_rule("Owned", owner_team=team, runbook=fresh_runbook)
    # A team without members does not make its rules owned (README "What it computes": `unowned`).
    loose = make_rule("Loose", owner_team=Team.objects.create(slug="empty", name="Empty"))
    stats(owned, week, fires=4, interruptions_sleep=2, engaged_ratio=0.5)
    stats(loose, week, fires=6, interruptions_off=1)
    for back in range(1, 5):
        stats(loose, week_shift(week, -back), fires=10, interruptions_business=back)

    numbers, trend = header_numbers(week=week, team=None)
    by_label = {n.label: n for n in numbers}

    assert by_label["Pages"].value == 3
    assert by_label["Pages"].baseline == 2.5
    assert by_label["Sleep hours"].value == 2
    assert by_label["Owned"].value == 50
    assert by_label["Fresh runbook"].value == 50
    assert by_label["Engaged with"].value == 50
    assert by_label["Owned"].baseline == 0
    assert len(trend) == 12
    assert trend[-1][1] == 10


def test_fleet_wide_agenda_is_paginated_by_20_and_a_team_agenda_by_50(
    client: Client, member: User, team: Team, week: str
) -> None:
    client.force_login(member)
    _seed_flagged(230, week, team)
    first = client.get(f"/review/{week}/").content.decode()
    last = client.get(f"/review/{week}/?page=12").content.decode()
    assert first.count('<article class="item') == 20
    assert last.count('<article class="item') == 10
    assert "Page 1 of 12" in first
    mine = client.get(f"/review/{week}/?team={team.slug}").content.decode()
    assert mine.count('<article class="item') == 50  # 115 of the 230 rules are the team's
    assert "Page 1 of 3" in mine


def test_team_filter_narrows_the_agenda_and_unknown_team_is_404(
    client: Client,
    member: User,
    make_rule: Callable[..., AlertRule],
    team: Team,
    other_team: Team,
    week: str,
) -> None:
    client.force_login(member)
    flag(make_rule("MineRule", owner_team=team), week, "noisy")
    flag(make_rule("TheirRule", owner_team=other_team), week, "noisy")
    html = client.get(f"/review/{week}/?team={team.slug}").content.decode()
    assert "MineRule" in html and "TheirRule" not in html
    assert client.get(f"/review/{week}/?team=nope").status_code == 404


def test_review_root_keeps_an_explicit_team(client: Client, member: User, other_team: Team) -> None:
    client.force_login(member)
    response = client.get(f"/review/?team={other_team.slug}")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/?team={other_team.slug}")


@pytest.mark.parametrize(
    "path", ["2026-W60/", "9999-W52/", "0001-W01/", "9999-W52/minutes.csv", "0001-W01/minutes.md"]
)
def test_impossible_week_is_404(client: Client, member: User, path: str) -> None:
    client.force_login(member)
    assert client.get(f"/review/{path}").status_code == 404


@pytest.mark.django_db
def test_anonymous_is_sent_to_login(client: Client, week: str) -> None:
    response = client.get(f"/review/{week}/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_any_logged_in_user_reads_but_sees_no_form_for_other_teams_rules(
    client: Client,
    make_user: Callable[..., User],
    make_rule: Callable[..., AlertRule],
    team: Team,
    week: str,
) -> None:
    outsider = make_user("outsider")
    rule = make_rule("TeamRule", owner_team=team)
    flag(rule, week, "noisy", "31 fires")
    client.force_login(outsider)
    html = client.get(f"/review/{week}/").content.decode()
    assert "31 fires" in html
    assert f"id_rule-{rule.pk}-kind" not in html


@pytest.mark.parametrize(
    "path", ["/review/{week}/minutes.md", "/review/{week}/minutes.csv", "/review/effect/"]
)
def test_exports_and_effect_are_readable_by_any_logged_in_user(
    client: Client, make_user: Callable[..., User], week: str, path: str
) -> None:
    client.force_login(make_user("reader"))
    assert client.get(path.format(week=week)).status_code == 200


def test_state_changes_refuse_get(client: Client, member: User, week: str) -> None:
    client.force_login(member)
    assert client.get(f"/review/{week}/start/").status_code == 405
    assert client.get("/review/actions/1/done/").status_code == 405
