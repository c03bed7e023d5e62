from __future__ import annotations

from collections.abc import Callable

from alerts.models import AlertRule, Decision
from alerts.review.scoring import shortfall_score
from alerts.review.selectors import agenda_items
from core.weeks import week_shift
from fleet.models import Team
from tests.alerts.review.conftest import flag, stats


def test_sleep_thief_on_page_outranks_noisy_warning_and_silent_ticket_is_last(
    make_rule: Callable[..., AlertRule], week: str
) -> None:
    silent_ticket = make_rule("SilentTicket", severity="ticket")
    flag(silent_ticket, week, "silent")
    noisy_warning = make_rule("NoisyWarning", severity="warning")
    flag(noisy_warning, week, "noisy")
    stats(noisy_warning, week, fires=40)
    noisy_page = make_rule("NoisyPage", severity="page")
    flag(noisy_page, week, "noisy")
    stats(noisy_page, week, fires=25, interruptions_business=25)
    thief = make_rule("SleepThief", severity="critical")
    flag(thief, week, "sleep_thief")
    flag(thief, week, "noisy")
    stats(thief, week, fires=22, interruptions_sleep=6)
    stale = make_rule("StaleWarning", severity="warning")
    flag(stale, week, "stale_runbook")

    items = agenda_items(week=week, team=None)

    assert [i.rule.alertname for i in items] == [
        "SleepThief",
        "NoisyPage",
        "NoisyWarning",
        "StaleWarning",
        "SilentTicket",
    ]
    assert [i.rank for i in items] == [1, 2, 3, 4, 5]


def test_more_fires_break_a_tie_between_equal_flags() -> None:
    few = shortfall_score(flags=["noisy"], severity="warning", fires=20)
    many = shortfall_score(flags=["noisy"], severity="warning", fires=200)
    assert many > few


def test_severity_doubles_a_page_and_halves_a_ticket() -> None:
    page = shortfall_score(flags=["ignored"], severity="page")
    warning = shortfall_score(flags=["ignored"], severity="warning")
    ticket = shortfall_score(flags=["ignored"], severity="ticket")
    assert page == 2 * warning == 4 * ticket


def test_agenda_lists_only_this_weeks_flags_and_the_team_filter_narrows_it(
    make_rule: Callable[..., AlertRule], week: str, team: Team, other_team: Team
) -> None:
    mine = make_rule("Mine", owner_team=team)
    theirs = make_rule("Theirs", owner_team=other_team)
    old = make_rule("OldOnly", owner_team=team)
    flag(mine, week, "noisy")
    flag(theirs, week, "ignored")
    flag(old, week_shift(week, -1), "noisy")

    assert {i.rule.alertname for i in agenda_items(week=week, team=None)} == {"Mine", "Theirs"}
    assert [i.rule.alertname for i in agenda_items(week=week, team=team)] == ["Mine"]


def test_item_carries_sparkline_runbook_state_and_last_decision(
    make_rule: Callable[..., AlertRule], week: str, fresh_runbook: object, member: object
) -> None:
    rule = make_rule("WithHistory", runbook=fresh_runbook)
    flag(rule, week, "noisy", "47 fires this week, 15 a week before")
    for back, fires in [(7, 1), (2, 5), (1, 15), (0, 47)]:
        stats(rule, week_shift(week, -back), fires=fires)
    Decision.objects.create(rule=rule, week=week_shift(week, -1), kind="tune", note="raise for:")

    (item,) = agenda_items(week=week, team=None)

    assert item.fires_by_week == [1, 0, 0, 0, 0, 5, 15, 47]
    assert item.runbook_state == "fresh"
    assert item.last_decision is not None and item.last_decision.note == "raise for:"
    assert item.flags[0].message == "47 fires this week, 15 a week before"
