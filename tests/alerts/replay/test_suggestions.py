"""Suggestions on the review page, the tune button, the replay page and API, query counts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alerts.models import AlertRule, Decision, Engagement, Episode, Feedback
from alerts.replay.notify import Timing, notifications
from alerts.replay.routing import route_tree
from alerts.replay.selectors import suggestions_for_rules
from alerts.replay.semantics import Interval
from fleet.models import Team
from tests.alerts.review.conftest import flag
from tests.support.clock import NOW

pytestmark = pytest.mark.django_db
M = timedelta(minutes=1)


def _blips(rule: AlertRule, *, count: int, tag: str, acted_long: bool = True) -> None:
    """`count` 2-minute blips (every 7 hours, nights included) and one long actionable
    incident, all in the last 4 weeks."""
    first = NOW - timedelta(days=20)
    for i in range(count):
        start = first + i * timedelta(hours=7)
        Episode.objects.create(
            rule=rule,
            fingerprint=f"{tag}{i % 3}",
            starts_at=start,
            ends_at=start + 2 * M,
            source="prometheus",
        )
    if acted_long:
        start = NOW - timedelta(days=2, hours=3)
        episode = Episode.objects.create(
            rule=rule,
            fingerprint=f"{tag}0",
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            source="prometheus",
        )
        user = User.objects.get_or_create(username=f"oncall-{tag}")[0]
        Feedback.objects.create(episode=episode, user=user, actionable=True)
        Engagement.objects.create(episode=episode, user=user, kind="feedback", at=start)


@pytest.fixture
def noisy(make_rule: Callable[..., AlertRule], team: Team, week: str) -> AlertRule:
    rule = make_rule("GpuTempBlip", owner_team=team, severity="page", expression="gpu_temp > 90")
    _blips(rule, count=48, tag="a")
    flag(rule, week, "noisy", "48 fires")
    return rule


def test_smallest_change_without_regret_is_suggested(noisy: AlertRule) -> None:
    found = suggestions_for_rules([noisy], now=NOW)
    suggestion = found[noisy.pk]
    assert suggestion.proposed_change == {"for": "2m", "keep_firing_for": "0s"}
    assert suggestion.current.pages >= 48
    assert suggestion.change.pages == 1  # only the incident still pages
    assert suggestion.change.regret == []
    assert suggestion.change.transient_removed == 48


def test_a_change_that_drops_an_acted_on_episode_is_not_suggested(
    make_rule: Callable[..., AlertRule], team: Team
) -> None:
    rule = make_rule("OnlyBlips", owner_team=team, severity="page")
    _blips(rule, count=30, tag="b", acted_long=False)
    acted = Episode.objects.filter(rule=rule).first()
    assert acted is not None
    Feedback.objects.create(episode=acted, user=User.objects.create(username="x"), actionable=True)
    assert rule.pk not in suggestions_for_rules([rule], now=NOW)


def test_review_page_shows_the_suggestion_and_choosing_records_a_tune(
    client: Client, member: User, noisy: AlertRule, week: str
) -> None:
    client.force_login(member)
    html = client.get(f"/review/{week}/?team=fraud-ml").content.decode()
    assert "adding <code>for: 2m</code> would have removed" in html
    assert (
        "of 49 pages last 4 weeks (20 nights), delayed what anyone acted on by at most 2m" in html
    )
    assert "Choose this change" in html
    response = client.post(
        f"/review/{week}/rules/{noisy.pk}/tune/",
        {"team": "fraud-ml", "for": "2m", "keep_firing_for": "0s", "note": "from replay"},
    )
    assert response.status_code == 302
    decision = Decision.objects.get(rule=noisy)
    assert decision.kind == Decision.Kind.TUNE
    assert decision.proposed_change == {"for": "2m", "keep_firing_for": "0s"}
    bad = client.post(
        f"/review/{week}/rules/{noisy.pk}/tune/", {"for": "7m", "keep_firing_for": "0s"}
    )
    assert bad.status_code == 400


def test_outsiders_cannot_choose(
    client: Client, make_user: Callable[..., User], noisy: AlertRule, week: str
) -> None:
    client.force_login(make_user("outsider"))
    response = client.post(
        f"/review/{week}/rules/{noisy.pk}/tune/", {"for": "2m", "keep_firing_for": "0s"}
    )
    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_replay_page_and_api_show_the_grid_with_regret(
    client: Client, member: User, noisy: AlertRule
) -> None:
    client.force_login(member)
    page = client.get(f"/review/replay/{noisy.pk}/")
    assert page.status_code == 200
    assert "Every option" in page.content.decode()
    data = client.get(f"/api/v1/alert-rules/{noisy.pk}/replay/").json()
    assert data["suggestion"]["proposed_change"] == {"for": "2m", "keep_firing_for": "0s"}
    by_pair = {(c["for"], c["keep_firing_for"]): c for c in data["candidates"]}
    assert len(by_pair) == 28
    regret = by_pair[("15m", "0s")]["regret"]  # delays the actionable incident past 10m
    assert [r["why"] for r in regret] == ["delayed"]
    assert regret[0]["actionable"] is True


def test_queries_do_not_grow_with_rules(
    make_rule: Callable[..., AlertRule], team: Team, week: str
) -> None:
    def count(n: int, tag: str) -> int:
        rules = []
        for i in range(n):
            rule = make_rule(f"{tag}{i}", owner_team=team, severity="page")
            _blips(rule, count=12, tag=f"{tag}{i}-", acted_long=False)
            rules.append(rule)
        loaded = list(
            AlertRule.objects.filter(pk__in=[r.pk for r in rules]).select_related("owner_team")
        )
        with CaptureQueriesContext(connection) as queries:
            found = suggestions_for_rules(loaded, now=NOW)
        assert len(found) == n
        return len(queries)

    # One query for the episodes (on PostgreSQL one more for the exact fingerprints of the
    # rules replayed in full), whatever the number of rules.
    small, big = count(2, "small"), count(8, "big")
    assert small == big <= (2 if connection.vendor == "postgresql" else 1)


def test_notifications_follow_group_wait_interval_and_repeat() -> None:
    t0 = datetime(2027, 1, 4, tzinfo=UTC)
    timing = Timing(timedelta(seconds=30), 5 * M, timedelta(hours=1))
    # Resolved before group_wait: nothing is sent.
    assert notifications([Interval(t0, t0 + timedelta(seconds=20))], timing, until=t0 + M) == []
    # Firing 2h: first at +30s, repeats every hour (at the flush after it).
    sent = notifications([Interval(t0, t0 + timedelta(hours=2))], timing, until=t0 + 3 * 60 * M)
    assert [(n.at - t0, n.new) for n in sent] == [
        (timedelta(seconds=30), True),
        (timedelta(hours=1, seconds=30), False),
    ]
    # A second alert of the group 2 minutes later waits for the next group_interval flush.
    two = [Interval(t0, t0 + 30 * M), Interval(t0 + 2 * M, t0 + 30 * M)]
    sent = notifications(two, timing, until=t0 + 60 * M)
    assert [(n.at - t0, n.new) for n in sent] == [
        (timedelta(seconds=30), True),
        (timedelta(minutes=5, seconds=30), True),
    ]


def test_route_timing_inherits_and_matches() -> None:
    tree = route_tree(
        """
route:
  receiver: default
  group_wait: 1m
  repeat_interval: 12h
  routes:
    - matchers: ['severity="page"', 'team=~"fraud.*"']
      receiver: pager
      group_interval: 2m
    - match: {severity: warning}
      receiver: chat
      repeat_interval: 1d
"""
    )
    page = tree.timing_for({"severity": "page", "team": "fraud-ml"})
    assert (page.group_wait, page.group_interval, page.repeat_interval) == (
        M,
        2 * M,
        timedelta(hours=12),
    )
    warn = tree.timing_for({"severity": "warning"})
    assert warn.repeat_interval == timedelta(days=1)
    assert tree.timing_for({"severity": "info"}).group_wait == M
