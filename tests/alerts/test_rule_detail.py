"""/alerts/<id>/ shows what the rule is (expression, `for`, matchers, labels, source), who and
what goes with it (owner, system, runbook), its status, what fires now, and where to go next."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Episode
from fleet.models import AISystem, Team
from runbooks.models import Runbook
from runbooks.services import runbook_save

pytestmark = pytest.mark.django_db

MUTED_UNTIL = datetime(2031, 1, 15, 9, 0, tzinfo=timezone.get_fixed_timezone(0))
START = datetime(2026, 11, 2, 6, 45, tzinfo=timezone.get_fixed_timezone(0))


@pytest.fixture
def rule(team: Team) -> AlertRule:
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=team)
    runbook = runbook_save(
        runbook=Runbook(slug="fraud-latency"), author=None, title="Fraud latency", body="x"
    )
    rule = AlertRule.objects.create(
        alertname="ModelLatencyHigh",
        matchers={"model": "fraud-scorer", "env": "prod"},
        labels={"severity": "page", "team": "fraud-ml"},
        expression='histogram_quantile(0.99, rate(latency_bucket{model="fraud-scorer"}[5m])) > 0.3',
        for_duration=timedelta(minutes=5),
        severity="page",
        source="prometheus",
        owner_team=team,
        system=system,
        runbook=runbook,
        status=AlertRule.Status.MUTED,
        muted_until=MUTED_UNTIL,
    )
    Episode.objects.create(
        rule=rule,
        fingerprint="open0000000001",
        labels={"alertname": "ModelLatencyHigh", "model": "fraud-scorer", "env": "prod"},
        starts_at=START,
        source="prometheus",
    )
    return rule


def _page(client: Client, user: User, rule: AlertRule) -> str:
    client.force_login(user)
    return html.unescape(client.get(f"/alerts/{rule.pk}/").content.decode())


def test_rule_page_shows_definition_status_firing_and_links(
    client: Client, member: User, rule: AlertRule, django_assert_max_num_queries: Any
) -> None:
    client.force_login(member)
    with django_assert_max_num_queries(11):
        client.get(f"/alerts/{rule.pk}/")
    body = _page(client, member, rule)

    assert rule.expression in body
    assert "<dt><code>for</code></dt><dd>5m</dd>" in body
    assert '<code>env="prod"</code>, <code>model="fraud-scorer"</code>' in body  # matchers
    assert '<code>severity="page"</code>, <code>team="fraud-ml"</code>' in body  # labels
    assert "<dt>Source</dt><dd>Prometheus / Alertmanager</dd>" in body
    assert "Muted until 2031-01-15 09:00 UTC" in body
    assert '<a href="/runbooks/fraud-latency/">Fraud latency</a>' in body
    oncall = "/runbooks/for/ModelLatencyHigh/?env=prod&model=fraud-scorer"
    assert f'<a href="{oncall}">On-call page</a>' in body
    assert '<a href="/fleet/fraud-scorer/">System Fraud scorer</a>' in body
    assert '<a href="/fleet/?team=fraud-ml">Team Fraud ML</a>' in body
    assert "Change in the admin" not in body  # not staff: the admin would refuse them
    firing = body[body.index('id="firing-now"') : body.index("</section>")]
    assert "2026-11-02 06:45 UTC" in firing and f'href="{oncall}"' in firing


def test_rule_page_links_staff_to_the_admin(
    client: Client, make_user: Callable[..., User], rule: AlertRule
) -> None:
    body = _page(client, make_user("admin", staff=True), rule)
    assert f'<a href="/admin/alerts/alertrule/{rule.pk}/change/">Change in the admin</a>' in body


def test_a_bare_rule_says_what_it_lacks(client: Client, member: User) -> None:
    bare = AlertRule.objects.create(alertname="Discovered", catalogued=False)
    body = _page(client, member, bare)
    assert "not recorded" in body  # no expression
    assert '<dt><code>for</code></dt><dd><span class="muted">—</span></dd>' in body
    assert "Active" in body and "until" not in body.split("Status", 1)[1].split("</div>", 2)[0]
    assert '<a href="/runbooks/new/?alertname=Discovered">Write the runbook</a>' in body
    assert '<a href="/runbooks/for/Discovered/">On-call page</a>' in body
    assert "Nothing is firing now." in body
