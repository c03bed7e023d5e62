"""Firing now: one selector (worst severity first, then the longest firing), one block on the
overview, /fleet/<slug>/ and /alerts/?firing=1, each row opening its on-call page."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.catalog.ownership import oncall_path
from alerts.models import AlertRule, Episode
from alerts.selectors import episodes_firing_now, firing_now
from fleet.models import AISystem, Team

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 29, 1, 30, tzinfo=timezone.get_fixed_timezone(0))
_ONCALL_LINK = re.compile(r'<a href="(/runbooks/for/[^"]*)">([^<]*)</a>')


@pytest.fixture
def client_in(member: User) -> Client:
    client = Client()
    client.force_login(member)
    return client


@pytest.fixture
def systems(team: Team) -> dict[str, AISystem]:
    return {
        slug: AISystem.objects.create(slug=slug, name=slug.title(), owner_team=team)
        for slug in ("fraud", "recsys")
    }


def _rule(name: str, severity: str, system: AISystem | None, **fields: Any) -> AlertRule:
    matchers = {"model": system.slug} if system else {}
    return AlertRule.objects.create(
        alertname=name, matchers=matchers, severity=severity, system=system, **fields
    )


def _episode(rule: AlertRule, *, hours_ago: float, ended: bool = False, **fields: Any) -> Episode:
    start = NOW - timedelta(hours=hours_ago)
    labels = {"alertname": rule.alertname, **rule.matchers, "pod": f"p{Episode.objects.count()}"}
    return Episode.objects.create(
        rule=rule,
        fingerprint=f"fp{Episode.objects.count():014d}",
        labels=labels,
        starts_at=start,
        ends_at=start + timedelta(minutes=5) if ended else None,
        source="prometheus",
        **fields,
    )


@pytest.fixture
def firing(team: Team, systems: dict[str, AISystem]) -> list[Episode]:
    """Open episodes in the order the block must show them; closed ones it must not."""
    fraud, recsys = systems["fraud"], systems["recsys"]
    page = _rule("LatencyPage", "page", fraud, owner_team=team)
    critical = _rule("DriftCritical", "critical", recsys)
    warning = _rule("VolumeWarning", "warning", fraud, owner_team=team)
    info = _rule("InfoNote", "info", None)
    bare = _rule("NoSeverity", "", None)
    expected = [
        _episode(page, hours_ago=30),
        _episode(page, hours_ago=2),
        _episode(critical, hours_ago=50),
        _episode(warning, hours_ago=70),
        _episode(info, hours_ago=90, system=fraud),  # its rule has no system, the episode has
        _episode(bare, hours_ago=100),
    ]
    _episode(page, hours_ago=200, ended=True)
    _episode(critical, hours_ago=1, ended=True)
    return expected


def _rows(body: str) -> list[tuple[str, str]]:
    """(on-call href, text) of each row in the block, in page order."""
    block = body[body.index('id="firing-now"') : body.index("</section>")]
    return [(html.unescape(href), text) for href, text in _ONCALL_LINK.findall(block)]


def test_selector_orders_worst_severity_first_then_oldest_and_skips_ended(
    firing: list[Episode], django_assert_num_queries: Callable[..., Any]
) -> None:
    with django_assert_num_queries(1):
        episodes = list(episodes_firing_now())
        owners = [(e.rule.owner_team, e.rule.system, e.system) for e in episodes]
    assert [e.pk for e in episodes] == [e.pk for e in firing]
    assert owners[0][0] is not None and owners[0][0].slug == "fraud-ml"


def test_selector_scopes_to_a_system_by_episode_or_rule(
    firing: list[Episode], systems: dict[str, AISystem]
) -> None:
    on_fraud = list(episodes_firing_now(system=systems["fraud"]))
    assert on_fraud == [firing[0], firing[1], firing[3], firing[4]]
    on_recsys = list(episodes_firing_now(system=systems["recsys"]))
    assert on_recsys == [firing[2]]


def test_firing_now_caps_the_rows_and_counts_all_in_one_query(
    firing: list[Episode], django_assert_num_queries: Callable[..., Any]
) -> None:
    with django_assert_num_queries(1):
        capped = firing_now(now=NOW, limit=4)
    assert [e for e, _ in capped.rows] == firing[:4]
    assert (capped.total, capped.more) == (6, 2)
    assert capped.rows[0][1] == 30 * 3600  # seconds firing at NOW
    with django_assert_num_queries(1):
        everything = firing_now(now=NOW, limit=6)
    assert (everything.total, everything.more) == (6, 0)


def test_overview_block_lists_every_open_episode_in_order_with_oncall_links_and_since(
    client_in: Client, firing: list[Episode]
) -> None:
    body = client_in.get("/").content.decode()
    rows = _rows(body)
    assert [text for _, text in rows] == [
        "LatencyPage{model=fraud}",
        "LatencyPage{model=fraud}",
        "DriftCritical{model=recsys}",
        "VolumeWarning{model=fraud}",
        "InfoNote",
        "NoSeverity",
    ]
    for (href, _), episode in zip(rows, firing, strict=True):
        assert href == oncall_path(episode.rule.alertname, episode.labels)
        assert all(f"{k}={v}" in href for k, v in episode.rule.matchers.items())
        assert f"pod={episode.labels['pod']}" in href
    assert 'Firing now <span class="muted">(6)</span>' in body
    assert f"{firing[5].starts_at:%Y-%m-%d %H:%M} UTC" in body
    assert '<a href="/fleet/fraud/">Fraud</a>' in body  # the info episode's own system


def test_an_oncall_link_opens_the_page_of_that_rule_on_that_episode(
    client_in: Client, firing: list[Episode]
) -> None:
    href, _ = _rows(client_in.get("/").content.decode())[1]
    page = client_in.get(href)
    assert page.status_code == 200
    assert page.context["oncall"].rule == firing[1].rule
    assert page.context["oncall"].firing == [firing[1]]


def test_an_episode_without_its_rules_matchers_still_links_to_its_rule(
    firing: list[Episode],
) -> None:
    from alerts.templatetags.alert_links import oncall_url

    episode = firing[0]
    episode.labels = {"demo": "true"}
    assert oncall_url(episode) == "/runbooks/for/LatencyPage/?demo=true&model=fraud"
    assert oncall_url(episode.rule) == "/runbooks/for/LatencyPage/?model=fraud"


def test_system_page_block_shows_only_its_episodes(
    client_in: Client, firing: list[Episode]
) -> None:
    rows = _rows(client_in.get("/fleet/recsys/").content.decode())
    assert [text for _, text in rows] == ["DriftCritical{model=recsys}"]


def test_nothing_firing_says_so(client_in: Client, systems: dict[str, AISystem]) -> None:
    for url in ("/", "/fleet/fraud/", "/alerts/?firing=1"):
        assert "Nothing is firing now." in client_in.get(url).content.decode()


def test_catalog_firing_filter_keeps_rules_with_open_episodes(
    client_in: Client, firing: list[Episode], team: Team
) -> None:
    quiet = _rule("Quiet", "page", None)
    _episode(quiet, hours_ago=3, ended=True)
    everything = client_in.get("/alerts/").content.decode()
    filtered = client_in.get("/alerts/?firing=1").content.decode()
    by_team = client_in.get("/alerts/?firing=1&team=fraud-ml").content.decode()

    assert 'id="firing-now"' not in everything and ">Quiet</a>" in everything
    assert ">Quiet</a>" not in filtered
    for name in ("LatencyPage", "DriftCritical", "VolumeWarning", "InfoNote", "NoSeverity"):
        assert f'">{name}' in filtered[filtered.index("Rules firing now") :]
    # The team filter uses the one owner definition: DriftCritical has no team of its own but
    # its system belongs to the team.
    assert [text for _, text in _rows(by_team)] == [
        "LatencyPage{model=fraud}",
        "LatencyPage{model=fraud}",
        "DriftCritical{model=recsys}",
        "VolumeWarning{model=fraud}",
    ]
    assert 'name="firing" value="1" checked' in filtered


@pytest.mark.parametrize("url", ["/", "/fleet/fraud/", "/alerts/?firing=1", "/alerts/{pk}/"])
def test_firing_pages_query_count_does_not_grow_with_episodes(
    client_in: Client, firing: list[Episode], url: str
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    path = url.format(pk=firing[0].rule_id)
    with CaptureQueriesContext(connection) as few:
        client_in.get(path)
    rule = firing[0].rule
    for n in range(40):
        _episode(rule, hours_ago=n / 10 + 0.01)
    _episode(_rule("Other", "warning", AISystem.objects.get(slug="fraud")), hours_ago=1)
    with CaptureQueriesContext(connection) as many:
        body = client_in.get(path).content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)
    assert "LatencyPage" in body
