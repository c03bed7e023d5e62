""" "Write the runbook" links on every page carry the rule's matchers, and following one links
the new runbook to that very rule, born reviewed."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule
from fleet.models import AISystem, Team
from runbooks.forms import RUNBOOK_TEMPLATE
from runbooks.links import new_runbook_url
from runbooks.models import Runbook
from runbooks.services import runbook_save

pytestmark = pytest.mark.django_db

_WRITE_LINK = re.compile(r'<a href="([^"]*)">Write the runbook</a>')


@pytest.fixture
def rules(team: Team) -> tuple[AlertRule, AlertRule]:
    """The rule to fix (two matchers) and a catch-all of the same name: a link without the
    matchers resolves to the catch-all instead."""
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=team)
    target = AlertRule.objects.create(
        alertname="ModelLatencyHigh",
        matchers={"model": "fraud-scorer", "env": "prod"},
        owner_team=team,
        system=system,
        layer="infra",
    )
    catch_all = AlertRule.objects.create(alertname="ModelLatencyHigh", owner_team=team)
    return target, catch_all


def test_new_runbook_url_carries_alertname_and_every_matcher() -> None:
    url = new_runbook_url("Model Latency", {"model": "a&b", "env": "prod", "alertname": "x"})
    assert url == "/runbooks/new/?alertname=Model+Latency&env=prod&model=a%26b"


@pytest.mark.parametrize("page", ["/fleet/fraud-scorer/", "/scorecards/", "/", "/alerts/{pk}/"])
def test_following_the_fix_link_links_the_runbook_to_that_rule_and_it_is_fresh(
    client: Client,
    member: User,
    team: Team,
    rules: tuple[AlertRule, AlertRule],
    page: str,
) -> None:
    target, catch_all = rules
    client.force_login(member)
    body = client.get(page.format(pk=target.pk)).content.decode()
    links = [html.unescape(href) for href in _WRITE_LINK.findall(body)]
    expected = new_runbook_url(target.alertname, target.matchers)
    assert expected in links

    form = client.get(expected).content.decode()
    before = timezone.now()
    response = client.post(
        expected,
        {"title": "Latency", "owner_team": team.pk, "review_interval_days": 30, "body": "x"},
    )

    assert "It will be linked to the alert rule" in form
    assert response.status_code == 302
    target.refresh_from_db()
    catch_all.refresh_from_db()
    assert catch_all.runbook is None
    runbook = target.runbook
    assert runbook is not None and runbook.title == "Latency"
    assert runbook.last_reviewed_at is not None and runbook.last_reviewed_at >= before
    assert not runbook.is_stale(now=before + timedelta(days=29))
    detail = client.get(f"/runbooks/{runbook.slug}/").content.decode()
    assert "never reviewed" not in detail


def test_saving_written_text_counts_as_a_review(make_user: Callable[..., User]) -> None:
    author = make_user("writer")
    runbook = runbook_save(runbook=Runbook(slug="rb"), author=author, title="T", body="v1")
    first = runbook.last_reviewed_at
    assert first is not None

    runbook.last_reviewed_at = first - timedelta(days=400)
    runbook.save()
    runbook_save(runbook=runbook, author=author, body="v2")
    runbook.refresh_from_db()
    assert runbook.last_reviewed_at is not None and runbook.last_reviewed_at >= first
    assert not runbook.is_stale(now=first)


def test_saves_without_an_author_or_text_change_or_with_an_explicit_date_keep_the_date(
    make_user: Callable[..., User],
) -> None:
    author = make_user("writer")
    imported = runbook_save(
        runbook=Runbook(slug="imp"), author=None, title="T", body=RUNBOOK_TEMPLATE
    )
    assert imported.last_reviewed_at is None

    long_ago = timezone.now() - timedelta(days=400)
    runbook_save(runbook=imported, author=author, review_interval_days=7, last_reviewed_at=long_ago)
    runbook_save(runbook=imported, author=author, review_interval_days=14)  # text unchanged
    imported.refresh_from_db()
    assert imported.last_reviewed_at == long_ago

    runbook_save(runbook=imported, author=author, body="new", last_reviewed_at=None)
    imported.refresh_from_db()
    assert imported.last_reviewed_at is None
