"""The review page as a meeting uses it: the last complete week by default, one team at a time,
a short fleet-wide page, decision forms on demand, members first in pickers, and the
confirmation shown at the item. "Now" is pinned to Thursday noon of 2026-W48."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Decision, RuleFlag
from alerts.review.numbers import header_numbers
from core.weeks import week_shift
from fleet.models import Membership, Team
from tests.alerts.review.conftest import flag, stats

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # Thursday noon: half of 2026-W48 has passed
RUNNING = "2026-W48"
LAST = "2026-W47"


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def _item(html: str, rule: AlertRule) -> str:
    """The HTML of one agenda item."""
    start = html.index(f'id="rule-{rule.pk}"')
    return html[start : html.index("</article>", start)]


def _decision_forms(html: str) -> int:
    return html.count('class="decision-form"')


def _flag_many(count: int, team: Team | None, week: str = LAST) -> list[AlertRule]:
    rules = AlertRule.objects.bulk_create(
        AlertRule(alertname=f"Bulk{i:03d}", severity="warning", owner_team=team)
        for i in range(count)
    )
    # Ranked by score: more fires, higher; Bulk000 has the most and comes first.
    RuleFlag.objects.bulk_create(RuleFlag(rule=r, week=week, flag="noisy") for r in rules)
    for i, rule in enumerate(rules):
        stats(rule, week, fires=1000 - i)
    return rules


# Default week and the running week


def test_review_opens_the_last_complete_week_of_the_users_team(
    client: Client, member: User, team: Team, other_team: Team
) -> None:
    client.force_login(member)
    response = client.get("/review/")
    assert response.status_code == 302
    assert response["Location"] == f"/review/{LAST}/?team={team.slug}"


def test_review_opens_the_fleet_for_users_without_a_team_or_an_explicit_empty_team(
    client: Client, make_user: Callable[..., User], member: User, team: Team
) -> None:
    client.force_login(make_user("loner"))
    assert client.get("/review/")["Location"] == f"/review/{LAST}/"
    client.force_login(member)
    assert client.get("/review/?team=")["Location"] == f"/review/{LAST}/"
    assert client.get("/review/?team=recsys").status_code == 404


def test_complete_week_links_to_the_running_week_which_is_labelled_and_partial(
    client: Client, member: User, make_rule: Callable[..., AlertRule], team: Team
) -> None:
    rule = make_rule("NightPager", severity="page", owner_team=team)
    flag(rule, RUNNING, "sleep_thief")
    stats(rule, RUNNING, fires=5, interruptions_sleep=5)
    for back in range(1, 5):
        stats(rule, week_shift(RUNNING, -back), fires=8, interruptions_sleep=8)
    client.force_login(member)

    complete = client.get(f"/review/{LAST}/?team={team.slug}").content.decode()
    assert f'href="/review/{RUNNING}/?team={team.slug}">Running week (so far)</a>' in complete
    assert "still running" not in complete

    running = client.get(f"/review/{RUNNING}/?team={team.slug}").content.decode()
    assert "running week" in running
    assert f"{RUNNING} is still running: 50% of it has passed" in running
    assert f'href="/review/{LAST}/?team={team.slug}">Review the last complete week' in running
    # 5 sleep pages so far against 4 for half of an average week of 8: not "−3 vs 8".
    assert "4-wk avg at 50% of a week 4" in running
    assert "▲ 1" in running
    assert "▼ 3" not in running
    assert "week not complete" in running  # shares get no comparison


def test_running_week_numbers_are_compared_pro_rata(
    make_rule: Callable[..., AlertRule], team: Team
) -> None:
    rule = make_rule("Pager", owner_team=team)
    stats(rule, RUNNING, fires=3, interruptions_business=3)
    for back in range(1, 5):
        stats(rule, week_shift(RUNNING, -back), fires=10, interruptions_business=10)

    running, _ = header_numbers(week=RUNNING, team=team, now=NOW)
    complete, _ = header_numbers(week=RUNNING, team=team, now=datetime(2026, 12, 1, tzinfo=UTC))

    pages = {n.label: n for n in running}["Pages"]
    assert (pages.partial, pages.baseline, pages.compared_with, pages.delta) == (
        True,
        10,
        5.0,
        -2.0,
    )
    assert {n.label: n for n in running}["Owned"].delta is None
    after = {n.label: n for n in complete}["Pages"]
    assert (after.partial, after.compared_with, after.delta) == (False, 10, -7)


# One team at a time, the fleet paginated


def test_team_page_shows_only_that_team_and_its_whole_agenda(
    client: Client, member: User, team: Team, other_team: Team
) -> None:
    mine = _flag_many(45, team)
    theirs = AlertRule.objects.create(alertname="TheirRule", owner_team=other_team)
    flag(theirs, LAST, "noisy")
    client.force_login(member)
    html = client.get(f"/review/{LAST}/?team={team.slug}").content.decode()
    assert html.count('<article class="item') == 45
    assert "TheirRule" not in html
    assert f'id="rule-{mine[-1].pk}"' in html
    # The switcher lists the user's team first, then "all teams", then the others.
    switcher = html[html.index('id="team-filter"') : html.index("</select>")]
    assert switcher.index("Your team") < switcher.index("All teams") < switcher.index("Recommender")
    assert f'<option value="{team.slug}" selected>' in switcher


def test_fleet_page_shows_20_items_a_page(client: Client, member: User, team: Team) -> None:
    rules = _flag_many(45, team)
    client.force_login(member)
    pages = [client.get(f"/review/{LAST}/?page={n}").content.decode() for n in (1, 2, 3)]
    assert [p.count('<article class="item') for p in pages] == [20, 20, 5]
    assert "Page 1 of 3" in pages[0]
    assert f'id="rule-{rules[0].pk}"' in pages[0] and f'id="rule-{rules[44].pk}"' in pages[2]
    assert f'href="/review/{LAST}/?page=2#agenda"' in pages[0]


# Decision forms on demand


def test_no_decision_form_by_default_only_links_that_open_one(
    client: Client, member: User, team: Team
) -> None:
    rules = _flag_many(3, team)
    client.force_login(member)
    html = client.get(f"/review/{LAST}/?team={team.slug}").content.decode()
    assert _decision_forms(html) == 0
    for rule in rules:
        link = f'href="/review/{LAST}/?team={team.slug}&amp;decide={rule.pk}#rule-{rule.pk}"'
        assert link in _item(html, rule)


def test_decide_opens_exactly_that_items_form_on_its_page(
    client: Client, member: User, team: Team
) -> None:
    rules = _flag_many(30, team)
    target = rules[25]  # on the fleet view's second page
    client.force_login(member)
    html = client.get(f"/review/{LAST}/?decide={target.pk}").content.decode()
    assert _decision_forms(html) == 1
    assert "Page 2 of 2" in html
    form = _item(html, target)
    assert f'action="/review/{LAST}/rules/{target.pk}/decide/#rule-{target.pk}"' in form
    assert f'for="id_rule-{target.pk}-kind"' in form


def test_other_teams_get_neither_link_nor_form_and_still_cannot_post(
    client: Client,
    make_user: Callable[..., User],
    team: Team,
    other_team: Team,
) -> None:
    (rule,) = _flag_many(1, team)
    outsider = make_user("outsider")
    Membership.objects.create(team=other_team, user=outsider)
    client.force_login(outsider)
    html = client.get(f"/review/{LAST}/?decide={rule.pk}").content.decode()
    assert _decision_forms(html) == 0
    assert "decide=" not in _item(html, rule)
    response = client.post(
        f"/review/{LAST}/rules/{rule.pk}/decide/", {f"rule-{rule.pk}-kind": "retire"}
    )
    assert response.status_code == 403
    assert not Decision.objects.exists()


@pytest.mark.parametrize("value", ["abc", "²", "-1", "999999", ""])
def test_a_bad_or_unknown_decide_value_shows_the_page_without_a_form(
    client: Client, member: User, team: Team, value: str
) -> None:
    _flag_many(2, team)
    client.force_login(member)
    response = client.get(f"/review/{LAST}/?decide={value}")
    assert response.status_code == 200
    assert _decision_forms(response.content.decode()) == 0


# Pickers


def test_owner_and_attendee_pickers_list_the_teams_members_first(
    client: Client, member: User, make_user: Callable[..., User], team: Team
) -> None:
    (rule,) = _flag_many(1, team)
    aaron = make_user("aaron", first_name="Aaron")  # first by name, but not in the team
    zoe = make_user("zoe", first_name="Zoe")
    Membership.objects.create(team=team, user=zoe)
    client.force_login(member)
    client.post(f"/review/{LAST}/start/", {"team": team.slug})

    html = client.get(f"/review/{LAST}/?team={team.slug}&decide={rule.pk}").content.decode()

    owner = _item(html, rule)
    owner = owner[owner.index(f'id="id_rule-{rule.pk}-owner"') :]
    assert owner.index('<optgroup label="Fraud ML members">') < owner.index(">Zoe<")
    assert owner.index(">member<") < owner.index(">Zoe<") < owner.index(">Aaron<")
    assert owner.index('label="Everyone else"') < owner.index(">Aaron<")
    meeting = html[html.index('id="meeting"') : html.index('id="actions"')]
    assert "<select" not in meeting  # checkboxes, no Ctrl-click
    boxes = [f'type="checkbox" name="attendees" value="{u.pk}"' for u in (member, zoe, aaron)]
    assert all(box in meeting for box in boxes)
    assert meeting.index(boxes[1]) < meeting.index(boxes[2])
    # Checked boxes save the attendees (the starter is already one).
    client.post(
        f"/review/{LAST}/meeting/",
        {"team": team.slug, "attendees": [member.pk, aaron.pk], "notes": ""},
    )
    saved = client.get(f"/review/{LAST}/?team={team.slug}").content.decode()
    assert re.search(rf'name="attendees" value="{aaron.pk}"[^>]* checked>', saved)
    assert not re.search(rf'name="attendees" value="{zoe.pk}"[^>]* checked>', saved)


# After recording


def test_recording_returns_to_the_item_on_its_page_with_the_confirmation_there(
    client: Client, member: User, team: Team
) -> None:
    rules = _flag_many(30, team)
    target = rules[25]
    client.force_login(member)
    response = client.post(
        f"/review/{LAST}/rules/{target.pk}/decide/",
        {f"rule-{target.pk}-kind": "tune", f"rule-{target.pk}-note": "raise the threshold"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/review/{LAST}/?at={target.pk}#rule-{target.pk}"

    html = client.get(response["Location"]).content.decode()
    assert "Page 2 of 2" in html
    item = _item(html, target)
    assert f"✓ Decision recorded for {target}." in item
    assert "Decided: Tune" in item
    assert 'class="messages"' not in html  # not at the top of the page
    assert _decision_forms(html) == 0
    # The confirmation is shown once.
    assert "Decision recorded" not in client.get(response["Location"]).content.decode()


def test_a_refused_decision_comes_back_at_the_item_with_its_errors(
    client: Client, member: User, team: Team
) -> None:
    rules = _flag_many(3, team)
    client.force_login(member)
    response = client.post(
        f"/review/{LAST}/rules/{rules[1].pk}/decide/",
        {"team": team.slug, f"rule-{rules[1].pk}-kind": "keep"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert _decision_forms(html) == 1
    assert "a reason is required" in _item(html, rules[1])
    assert 'id="agenda"' in html


def test_a_refused_decision_for_a_rule_off_this_agenda_is_shown_on_its_own(
    client: Client, member: User, team: Team, other_team: Team
) -> None:
    (rule,) = _flag_many(1, team)
    client.force_login(member)
    response = client.post(
        f"/review/{LAST}/rules/{rule.pk}/decide/",
        {"team": other_team.slug, f"rule-{rule.pk}-kind": "keep"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="agenda"' not in html
    assert "a reason is required" in html
