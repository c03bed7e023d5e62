"""/alerts/ and /alerts/<id>/: catalog, filters, flags, sparklines, bounded queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Episode, RuleFlag, RuleWeek
from alerts.noise.evaluation import week_evaluate
from core.weeks import current_week, week_shift
from fleet.models import AISystem, Team
from runbooks.models import Runbook

# Pages and commands here read the clock (this week, last 7 days, review ages): pin it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


@pytest.fixture
def client_in(make_user: Callable[..., User]) -> Client:
    client = Client()
    client.force_login(make_user("viewer"))
    return client


def _rules(count: int, team: Team) -> list[AlertRule]:
    # No owner team on the system: the rules without a team of their own are unowned.
    system = AISystem.objects.create(slug=f"sys{count}", name="Fraud scorer")
    runbook = Runbook.objects.create(slug=f"rb{count}", title="Fraud runbook")
    rules = [
        AlertRule.objects.create(
            alertname=f"Alert{i:03d}",
            owner_team=team if i % 2 else None,
            system=system,
            runbook=runbook if i % 3 else None,
            severity="page",
            layer="ml",
        )
        for i in range(count)
    ]
    now = timezone.now()
    Episode.objects.bulk_create(
        Episode(
            rule=rule,
            fingerprint=f"{rule.pk}-{n}",
            # A few minutes apart per rule; not by primary key, which grows across tests.
            starts_at=now - timedelta(days=n * 3, minutes=position + 1),
            ends_at=now - timedelta(days=n * 3),
            source="prometheus",
        )
        for position, rule in enumerate(rules)
        for n in range(6)
    )
    for offset in range(-2, 1):
        week_evaluate(week=week_shift(current_week(), offset))
    return rules


def test_catalog_needs_login(client: Client) -> None:
    response = client.get("/alerts/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_catalog_lists_counts_flags_and_sparklines(client_in: Client, team: Team) -> None:
    rule = _rules(3, team)[1]
    response = client_in.get("/alerts/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'href="/alerts/{rule.pk}/"' in html
    row = html[html.index(f'href="/alerts/{rule.pk}/"') :]
    row = row[: row.index("</tr>")]
    assert '<td class="num">3</td>' in row  # fires in 7 days: now, 3 and 6 days ago
    assert '<td class="num">6</td>' in row  # fires in 28 days
    assert '<svg class="sparkline"' in row
    assert ">Stale runbook</span>" in row  # this week's flag chips, messages on hover
    assert 'title="owner team Fraud ML has no members"' in row


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("team=fraud-ml", {"Alert001", "Alert003"}),
        ("severity=warning", set()),
        ("layer=ml&status=active", {"Alert000", "Alert001", "Alert002", "Alert003"}),
        ("flag=no_runbook", {"Alert000", "Alert003"}),
        ("flag=unowned", {"Alert000", "Alert002"}),
        ("uncatalogued=1", set()),
        ("severity=bogus", {"Alert000", "Alert001", "Alert002", "Alert003"}),
    ],
)
def test_catalog_filters(
    client_in: Client, member: User, team: Team, query: str, expected: set[str]
) -> None:
    _rules(4, team)
    html = client_in.get(f"/alerts/?{query}").content.decode()
    shown = {f"Alert{i:03d}" for i in range(4) if f">Alert{i:03d}</a>" in html}
    assert shown == expected


def test_catalog_is_paginated(client_in: Client, team: Team) -> None:
    AlertRule.objects.bulk_create(AlertRule(alertname=f"Bulk{i:03d}") for i in range(60))
    first = client_in.get("/alerts/").content.decode()
    second = client_in.get("/alerts/?page=2").content.decode()
    assert ">Bulk049</a>" in first and ">Bulk050</a>" not in first
    assert ">Bulk050</a>" in second and "page 2 of 2" in second


@pytest.mark.parametrize("path", ["/alerts/", "/alerts/?flag=noisy&team=fraud-ml"])
def test_catalog_queries_do_not_grow_with_rules(
    client_in: Client, team: Team, django_assert_max_num_queries: Any, path: str
) -> None:
    _rules(5, team)
    with django_assert_max_num_queries(12) as few:
        client_in.get(path)
    AlertRule.objects.all().delete()
    _rules(50, team)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client_in.get(path)


def test_rule_page_shows_owner_runbook_flags_stats_and_episodes(
    client_in: Client, member: User, team: Team, django_assert_max_num_queries: Any
) -> None:
    rule = _rules(2, team)[1]
    runbook = rule.runbook
    assert runbook is not None
    runbook.last_reviewed_at = timezone.now() - timedelta(days=200)
    runbook.save()
    week_evaluate(week=current_week())
    with django_assert_max_num_queries(10):
        response = client_in.get(f"/alerts/{rule.pk}/")
    html = response.content.decode()
    assert "Fraud ML" in html and "1 member" in html
    assert "Fraud scorer" in html
    assert "stale: review was due" in html
    assert RuleFlag.objects.get(rule=rule, week=current_week(), flag="stale_runbook").message in (
        html.replace("&ldquo;", "“").replace("&rdquo;", "”")
    )
    assert html.count("not evaluated") == 5  # 8 weeks shown, 3 evaluated
    assert RuleWeek.objects.filter(rule=rule).count() == 3
    assert html.count("<td><code>") == 6  # six episodes with their durations
    assert '<td class="num">' in html and "m</td>" in html


def test_rule_page_episode_history_is_paginated_and_404s(client_in: Client) -> None:
    rule = AlertRule.objects.create(alertname="Busy")
    now = timezone.now()
    Episode.objects.bulk_create(
        Episode(rule=rule, fingerprint=f"f{i}", starts_at=now - timedelta(hours=i), source="x")
        for i in range(55)
    )
    assert client_in.get(f"/alerts/{rule.pk}/").content.decode().count("<td><code>") == 50
    assert client_in.get(f"/alerts/{rule.pk}/?page=2").content.decode().count("<td><code>") == 5
    assert client_in.get("/alerts/999999/").status_code == 404
