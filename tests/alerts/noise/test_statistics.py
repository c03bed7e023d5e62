"""Each statistic on hand-built episodes, at and around its threshold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from alerts.models import AlertRule, Engagement, Feedback
from core.choices import Severity
from core.weeks import week_of
from fleet.models import Team
from tests.alerts.noise.conftest import AFTER_WEEK, MONDAY, WEEK, at, episode, evaluate

pytestmark = pytest.mark.django_db


def test_fires_count_starts_inside_the_week_only(make_rule: Callable[..., AlertRule]) -> None:
    rule = make_rule()
    episode(rule, MONDAY, seconds=60)  # first instant of the week: counted
    episode(rule, at(6, 23, 59, 59), seconds=60)  # last second: counted
    episode(rule, MONDAY - timedelta(seconds=1), seconds=60)  # previous week
    episode(rule, MONDAY + timedelta(days=7), seconds=60)  # next week
    assert evaluate()[rule.pk].fires == 2


def test_firing_seconds_are_clipped_to_the_week(make_rule: Callable[..., AlertRule]) -> None:
    rule = make_rule()
    episode(rule, MONDAY - timedelta(hours=1), MONDAY + timedelta(hours=2))  # 2h inside
    episode(rule, at(6, 23), MONDAY + timedelta(days=7, hours=5))  # 1h inside
    episode(rule, at(2), seconds=600)  # 10 minutes
    episode(rule, MONDAY - timedelta(days=3), MONDAY - timedelta(days=2))  # outside
    row = evaluate()[rule.pk]
    assert row.firing_seconds == 2 * 3600 + 3600 + 600
    assert row.fires == 2


def test_open_episodes_count_up_to_now_inside_the_current_week(
    make_rule: Callable[..., AlertRule],
) -> None:
    rule = make_rule()
    episode(rule, at(1, 10))  # open
    row = evaluate(now=at(1, 13))[rule.pk]
    assert row.firing_seconds == 3 * 3600
    assert row.median_duration_seconds == 3 * 3600
    assert row.longest_open_seconds == 3 * 3600


def test_open_episode_from_earlier_weeks_fills_the_whole_week(
    make_rule: Callable[..., AlertRule],
) -> None:
    rule = make_rule()
    episode(rule, MONDAY - timedelta(days=30))
    row = evaluate()[rule.pk]
    assert row.fires == 0
    assert row.firing_seconds == 7 * 86400
    assert row.longest_open_seconds == 37 * 86400  # as of the week's end


def test_median_duration_odd_and_even(make_rule: Callable[..., AlertRule]) -> None:
    odd, even = make_rule(), make_rule()
    for seconds in (10, 500, 30):
        episode(odd, at(1), seconds=seconds)
    for seconds in (10, 20, 40, 1000):
        episode(even, at(2), seconds=seconds)
    rows = evaluate()
    assert rows[odd.pk].median_duration_seconds == 30
    assert rows[even.pk].median_duration_seconds == 30


def test_engaged_means_while_firing_or_within_an_hour_of_the_start(
    make_rule: Callable[..., AlertRule], make_user: Callable[..., User]
) -> None:
    user = make_user()
    rule = make_rule()
    short = episode(rule, at(1, 10), seconds=600)
    long = episode(rule, at(2, 10), seconds=5 * 3600)
    late = episode(rule, at(3, 10), seconds=600)
    early = episode(rule, at(4, 10), seconds=600)
    episode(rule, at(5, 10), seconds=600)  # nobody
    view = Engagement.Kind.RUNBOOK_VIEW
    Engagement.objects.create(episode=short, user=user, kind=view, at=at(1, 10, 59, 59))
    Engagement.objects.create(episode=long, user=user, kind=view, at=at(2, 14))
    Engagement.objects.create(episode=late, user=user, kind=view, at=at(3, 11, 0, 1))
    Engagement.objects.create(episode=early, user=user, kind=view, at=at(4, 9, 59))
    assert evaluate()[rule.pk].engaged_ratio == pytest.approx(2 / 5)


def test_transient_is_resolved_within_five_minutes_without_engagement(
    make_rule: Callable[..., AlertRule], make_user: Callable[..., User]
) -> None:
    rule = make_rule()
    episode(rule, at(1), seconds=300)  # exactly 5 minutes: transient
    episode(rule, at(1, 1), seconds=301)
    engaged = episode(rule, at(1, 2), seconds=60)
    episode(rule, at(1, 3))  # still open
    Engagement.objects.create(
        episode=engaged, user=make_user(), kind=Engagement.Kind.FEEDBACK, at=at(1, 2, 0, 30)
    )
    assert evaluate()[rule.pk].transient_ratio == pytest.approx(1 / 4)


def test_flaps_are_refires_of_one_fingerprint_within_thirty_minutes(
    make_rule: Callable[..., AlertRule],
) -> None:
    rule = make_rule()
    episode(rule, at(1, 10), at(1, 10, 10), fingerprint="a")
    episode(rule, at(1, 10, 40), at(1, 10, 45), fingerprint="a")  # 30 min after: flap
    episode(rule, at(1, 11, 15, 1), at(1, 11, 20), fingerprint="a")  # 30 min 1 s: not
    episode(rule, at(1, 11, 25), at(1, 11, 30), fingerprint="b")  # other fingerprint: not
    # Across the week boundary: resolved Sunday 23:50 of the week before, re-fired Monday 00:10.
    episode(rule, MONDAY - timedelta(minutes=20), MONDAY - timedelta(minutes=10), fingerprint="c")
    episode(rule, MONDAY + timedelta(minutes=10), seconds=60, fingerprint="c")
    assert evaluate()[rule.pk].flaps == 2


def test_feedback_count_and_actionable_ratio(
    make_rule: Callable[..., AlertRule], make_user: Callable[..., User]
) -> None:
    alice, bob = make_user("alice"), make_user("bob")
    rule = make_rule()
    first = episode(rule, at(1), seconds=60)
    second = episode(rule, at(2), seconds=60)
    Feedback.objects.create(episode=first, user=alice, actionable=True)
    Feedback.objects.create(episode=first, user=bob, actionable=False)
    Feedback.objects.create(episode=second, user=alice, actionable=False)
    row = evaluate()[rule.pk]
    assert row.feedback_count == 3
    assert row.actionable_ratio == pytest.approx(1 / 3)
    quiet = make_rule()
    episode(quiet, at(3), seconds=60)
    assert evaluate()[quiet.pk].actionable_ratio is None


@pytest.mark.parametrize(
    ("local_day", "local_time", "expected"),
    [
        (0, (7, 59), "sleep"),
        (0, (8, 0), "business"),
        (4, (17, 59), "business"),
        (4, (18, 0), "off"),
        (2, (21, 59), "off"),
        (2, (22, 0), "sleep"),
        (5, (10, 0), "off"),  # Saturday
        (6, (21, 59), "off"),  # Sunday
        (6, (23, 0), "sleep"),
    ],
)
@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata"])
def test_interruptions_split_by_local_hours_of_the_owner_team(
    make_rule: Callable[..., AlertRule],
    zone: str,
    local_day: int,
    local_time: tuple[int, int],
    expected: str,
) -> None:
    from zoneinfo import ZoneInfo

    team = Team.objects.create(slug="t", name="T", timezone=zone)
    rule = make_rule(severity=Severity.PAGE, owner_team=team)
    local = datetime(2026, 11, 16 + local_day, *local_time, tzinfo=ZoneInfo(zone))
    start = local.astimezone(UTC)
    episode(rule, start, seconds=60)
    # Late Sunday in Los Angeles is already Monday in UTC: evaluate the UTC week it starts in.
    row = evaluate(week_of(start), now=start + timedelta(days=8))[rule.pk]
    split = {
        "business": row.interruptions_business,
        "off": row.interruptions_off,
        "sleep": row.interruptions_sleep,
    }
    assert split == {name: int(name == expected) for name in split}


def test_only_page_and_critical_severities_interrupt(
    make_rule: Callable[..., AlertRule], utc_team: Team
) -> None:
    critical = make_rule(severity=Severity.CRITICAL, owner_team=utc_team)
    warning = make_rule(severity=Severity.WARNING, owner_team=utc_team)
    unowned_page = make_rule(severity=Severity.PAGE)  # no team: counted in UTC
    for rule in (critical, warning, unowned_page):
        episode(rule, at(1, 3), seconds=60)
    rows = evaluate()
    assert rows[critical.pk].interruptions_sleep == 1
    assert rows[warning.pk].interruptions == 0
    assert rows[unowned_page.pk].interruptions_sleep == 1


def test_interruptions_follow_the_dst_change_inside_the_week(
    make_rule: Callable[..., AlertRule],
) -> None:
    # 2026-W44: Los Angeles leaves daylight time on Sunday 1 November at 09:00 UTC.
    team = Team.objects.create(slug="la", name="LA", timezone="America/Los_Angeles")
    rule = make_rule(severity=Severity.PAGE, owner_team=team)
    episode(rule, datetime(2026, 10, 30, 15, 0, tzinfo=UTC), seconds=60)  # Fri 08:00 PDT
    episode(rule, datetime(2026, 11, 1, 15, 0, tzinfo=UTC), seconds=60)  # Sun 07:00 PST
    episode(rule, datetime(2026, 11, 1, 16, 0, tzinfo=UTC), seconds=60)  # Sun 08:00 PST
    row = evaluate("2026-W44", now=datetime(2026, 11, 3, tzinfo=UTC))[rule.pk]
    assert (row.interruptions_business, row.interruptions_off, row.interruptions_sleep) == (
        1,
        1,
        1,
    )


def test_longest_open_is_measured_at_the_week_end_for_past_weeks(
    make_rule: Callable[..., AlertRule],
) -> None:
    rule = make_rule()
    episode(rule, at(2), at(6))  # resolved inside the week: not open
    episode(rule, at(5), AFTER_WEEK + timedelta(days=3))  # open at the week's end
    row = evaluate(now=AFTER_WEEK + timedelta(days=10))[rule.pk]
    assert row.longest_open_seconds == 2 * 86400


def test_a_week_without_episodes_still_has_zero_rows_for_catalogued_rules(
    make_rule: Callable[..., AlertRule],
) -> None:
    rule = make_rule()
    retired = make_rule(status=AlertRule.Status.RETIRED)
    rows = evaluate()
    assert rows[rule.pk].fires == 0
    assert rows[rule.pk].median_duration_seconds is None
    assert retired.pk not in rows
    assert WEEK == "2026-W47"
