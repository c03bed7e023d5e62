"""Each flag at and around its threshold, with its evidence and message."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from alerts.models import AlertRule, Engagement, Feedback, Flag
from core.choices import Severity
from fleet.models import Membership, Team
from runbooks.models import Runbook
from tests.alerts.noise.conftest import AFTER_WEEK, MONDAY, at, episode, evaluate, flags_of

pytestmark = pytest.mark.django_db


def fire(rule: AlertRule, count: int, *, day: int = 1, seconds: float = 600) -> None:
    for i in range(count):
        episode(rule, at(day, 0, i * 20), seconds=seconds)


def test_noisy_at_twenty_fires_not_nineteen(make_rule: Callable[..., AlertRule]) -> None:
    noisy, calm = make_rule(), make_rule()
    for rule in (noisy, calm):  # a usual week of 7, so that only the absolute threshold applies
        for week in range(1, 5):
            for i in range(7):
                episode(rule, MONDAY - timedelta(weeks=week, hours=i + 1), seconds=60)
    fire(noisy, 20)
    fire(calm, 19)
    evaluate()
    flag = flags_of(noisy)[Flag.NOISY]
    assert flag.evidence["fires"] == 20
    assert flag.message.startswith("fired 20 times")
    assert Flag.NOISY not in flags_of(calm)


def test_noisy_against_the_four_week_median(make_rule: Callable[..., AlertRule]) -> None:
    tripled, below, too_few = make_rule(), make_rule(), make_rule()
    for week in range(1, 5):
        for i in range(4):
            start = MONDAY - timedelta(weeks=week) + timedelta(hours=i)
            for rule in (tripled, below):
                episode(rule, start, seconds=60)
        for i in range(3):
            episode(too_few, MONDAY - timedelta(weeks=week) + timedelta(hours=i), seconds=60)
    fire(tripled, 12)  # 12 >= 3 x 4 and >= 10
    fire(below, 11)  # < 3 x 4
    fire(too_few, 9)  # 9 >= 3 x 3 but < 10
    evaluate()
    flag = flags_of(tripled)[Flag.NOISY]
    assert flag.evidence == {"fires": 12, "median_4w": 4, "threshold": 20, "factor": 3.0}
    assert flag.message == "fired 12 times, 3× its 4-week median of 4"
    assert Flag.NOISY not in flags_of(below)
    assert Flag.NOISY not in flags_of(too_few)


def test_noisy_threshold_comes_from_settings(make_rule: Callable[..., AlertRule]) -> None:
    rule = make_rule()
    fire(rule, 6)
    with override_settings(STEWARD_NOISY_FIRES=6):
        evaluate()
    assert Flag.NOISY in flags_of(rule)


def test_flapping_from_three_flaps(make_rule: Callable[..., AlertRule]) -> None:
    three, two = make_rule(), make_rule()
    for rule, count in ((three, 4), (two, 3)):
        for i in range(count):
            episode(rule, at(1, 0, i * 20), seconds=300, fingerprint=f"{rule.pk}")
    evaluate()
    assert (
        flags_of(three)[Flag.FLAPPING].message == "re-fired 3 times within 30 minutes of resolving"
    )
    assert Flag.FLAPPING not in flags_of(two)


def test_transient_needs_five_episodes_and_half_of_them(
    make_rule: Callable[..., AlertRule],
) -> None:
    flagged, few, half_not = make_rule(), make_rule(), make_rule()
    fire(flagged, 3, seconds=60)
    fire(flagged, 2, day=2, seconds=3600)  # 3 of 5 = 60%
    fire(few, 4, seconds=60)
    fire(half_not, 2, seconds=60)
    fire(half_not, 3, day=2, seconds=3600)  # 40%
    evaluate()
    flag = flags_of(flagged)[Flag.TRANSIENT]
    assert flag.evidence == {"episodes": 5, "transient_ratio": 0.6}
    assert Flag.TRANSIENT not in flags_of(few)
    assert Flag.TRANSIENT not in flags_of(half_not)


def test_ignored_below_twenty_percent_engaged(
    make_rule: Callable[..., AlertRule], make_user: Callable[..., User]
) -> None:
    user = make_user()
    ignored, looked_at = make_rule(), make_rule()
    for rule, engaged in ((ignored, 0), (looked_at, 1)):
        for i in range(5):
            ep = episode(rule, at(1, i), seconds=600)
            if i < engaged:
                Engagement.objects.create(
                    episode=ep, user=user, kind=Engagement.Kind.RUNBOOK_VIEW, at=at(1, i, 5)
                )
    evaluate()
    assert (
        flags_of(ignored)[Flag.IGNORED].message == "nobody looked at 5 of 5 episodes (0% engaged)"
    )
    assert Flag.IGNORED not in flags_of(looked_at)  # 1 of 5 = 20%: not below


def test_unactionable_needs_three_verdicts_under_thirty_percent(
    make_rule: Callable[..., AlertRule], make_user: Callable[..., User]
) -> None:
    users = [make_user(f"u{i}") for i in range(4)]
    flagged, two_verdicts, enough_actionable = make_rule(), make_rule(), make_rule()
    for rule, verdicts in (
        (flagged, [False, False, False, True]),  # 25%
        (two_verdicts, [False, False]),
        (enough_actionable, [False, False, True]),  # 33%
    ):
        ep = episode(rule, at(2), seconds=600)
        for user, actionable in zip(users, verdicts, strict=False):
            Feedback.objects.create(episode=ep, user=user, actionable=actionable)
    evaluate()
    assert flags_of(flagged)[Flag.UNACTIONABLE].evidence == {
        "feedback": 4,
        "actionable_ratio": 0.25,
    }
    assert Flag.UNACTIONABLE not in flags_of(two_verdicts)
    assert Flag.UNACTIONABLE not in flags_of(enough_actionable)


def test_sleep_thief_from_two_night_pages_in_team_time(make_rule: Callable[..., AlertRule]) -> None:
    berlin = Team.objects.create(slug="b", name="Berlin", timezone="Europe/Berlin")
    two, one = (make_rule(severity=Severity.PAGE, owner_team=berlin) for _ in range(2))
    # 21:30 UTC is 22:30 in Berlin (winter time): sleep hours.
    for day in (1, 2):
        episode(two, at(day, 21, 30), seconds=600)
    episode(one, at(1, 21, 30), seconds=600)
    episode(one, at(2, 20, 30), seconds=600)  # 21:30 in Berlin: off hours
    evaluate()
    assert flags_of(two)[Flag.SLEEP_THIEF].message == (
        "paged 2 times during sleep hours (22–08 Europe/Berlin)"
    )
    assert Flag.SLEEP_THIEF not in flags_of(one)


def test_stuck_from_five_days_open(make_rule: Callable[..., AlertRule]) -> None:
    stuck, almost = make_rule(), make_rule()
    end = MONDAY + timedelta(days=7)
    episode(stuck, end - timedelta(days=5))
    episode(almost, end - timedelta(days=5) + timedelta(seconds=1))
    evaluate()
    assert flags_of(stuck)[Flag.STUCK].evidence == {"longest_open_seconds": 5 * 86400}
    assert Flag.STUCK not in flags_of(almost)


def test_duplicate_when_eighty_percent_start_within_two_minutes(
    make_rule: Callable[..., AlertRule],
) -> None:
    leader, follower, loner = make_rule("Leader"), make_rule("Follower"), make_rule("Loner")
    for i in range(5):
        start = at(1, i)
        episode(leader, start, seconds=600)
        episode(follower, start + timedelta(seconds=120 if i else 121), seconds=600)
    for i in range(4):
        episode(loner, at(3, i), seconds=600)
        episode(leader, at(3, i, 1), seconds=600)
    evaluate()
    flag = flags_of(follower)[Flag.DUPLICATE]
    assert flag.evidence["co_fired"] == 4
    assert flag.evidence["other"] == "Leader"
    assert flag.message == "4 of 5 episodes started within 2 minutes of Leader (80%)"
    assert Flag.DUPLICATE not in flags_of(leader)  # 8 of 9 with someone, but 4 + 4 per rule
    assert Flag.DUPLICATE not in flags_of(loner)  # 4 of 4, but fewer than 5 episodes


def test_catalog_flags_unowned_and_runbooks(
    make_rule: Callable[..., AlertRule], make_user: Callable[..., User]
) -> None:
    staffed = Team.objects.create(slug="s", name="Staffed")
    Membership.objects.create(team=staffed, user=make_user())
    empty = Team.objects.create(slug="e", name="Empty")
    due = AFTER_WEEK - timedelta(days=100)  # + 90 days interval: due before the week ends
    fresh = Runbook.objects.create(slug="f", title="Fresh", last_reviewed_at=AFTER_WEEK)
    stale = Runbook.objects.create(slug="s", title="Stale", last_reviewed_at=due)
    never = Runbook.objects.create(slug="n", title="Never")
    no_team = make_rule()
    empty_team = make_rule(owner_team=empty, runbook=stale)
    good = make_rule(owner_team=staffed, runbook=fresh)
    unreviewed = make_rule(owner_team=staffed, runbook=never)
    for rule in (no_team, empty_team, good, unreviewed):
        episode(rule, at(1), seconds=60)
    evaluate()
    assert flags_of(no_team)[Flag.UNOWNED].message == "no owner team"
    assert flags_of(no_team)[Flag.NO_RUNBOOK].message == "no runbook linked"
    assert flags_of(empty_team)[Flag.UNOWNED].message == "owner team Empty has no members"
    assert "was due for review on" in flags_of(empty_team)[Flag.STALE_RUNBOOK].message
    assert flags_of(unreviewed)[Flag.STALE_RUNBOOK].message == "runbook “Never” was never reviewed"
    assert flags_of(good) == {}


def test_long_muted_after_sixty_days_or_with_no_end(make_rule: Callable[..., AlertRule]) -> None:
    end = MONDAY + timedelta(days=7)
    later = end + timedelta(days=30)
    long = make_rule(status="muted", muted_at=end - timedelta(days=61), muted_until=later)
    short = make_rule(status="muted", muted_at=end - timedelta(days=59), muted_until=later)
    forever = make_rule(status="muted", muted_at=end - timedelta(days=1))
    evaluate()
    assert flags_of(long)[Flag.LONG_MUTED].message == "muted for 61 days (limit 60)"
    assert Flag.LONG_MUTED not in flags_of(short)
    assert flags_of(forever)[Flag.LONG_MUTED].message == "muted 1 day ago with no end date"


def test_silent_when_active_and_not_fired_in_ninety_days(
    make_rule: Callable[..., AlertRule],
) -> None:
    end = MONDAY + timedelta(days=7)
    silent, recent, still_open = make_rule(), make_rule(), make_rule()
    muted = make_rule(status="muted", muted_at=end, muted_until=end + timedelta(days=1))
    episode(silent, end - timedelta(days=90, seconds=1), seconds=60)
    episode(recent, end - timedelta(days=90), seconds=60)
    episode(still_open, end - timedelta(days=200))
    evaluate()
    assert flags_of(silent)[Flag.SILENT].evidence == {"days": 90}
    assert Flag.SILENT not in flags_of(recent)
    assert Flag.SILENT not in flags_of(still_open)
    assert Flag.SILENT not in flags_of(muted)


def test_uncatalogued_and_retired_rules(make_rule: Callable[..., AlertRule]) -> None:
    discovered = make_rule(catalogued=False)
    quiet_discovered = make_rule(catalogued=False)
    retired = make_rule(status=AlertRule.Status.RETIRED)
    fire(discovered, 3)
    fire(retired, 25)
    evaluate()
    flags = flags_of(discovered)
    assert flags[Flag.UNCATALOGUED].message == (
        "fired 3 times this week but was never registered in the catalog"
    )
    assert Flag.SILENT not in flags
    assert flags_of(quiet_discovered)[Flag.UNCATALOGUED].message == (
        "discovered firing but never registered in the catalog"
    )
    # A retired rule that still fires keeps its statistic flags but no catalog flags.
    assert set(flags_of(retired)) == {Flag.NOISY, Flag.IGNORED}
