"""Runbook list, detail, new, edit with preview, history with diff, mark reviewed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule
from fleet.models import Team
from runbooks.forms import RUNBOOK_TEMPLATE
from runbooks.models import Runbook, RunbookRevision
from runbooks.services import runbook_save

# Pages and commands here read the clock (this week, last 7 days, review ages): pin it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


def make_runbook(slug: str, team: Team | None, *, reviewed_days_ago: int | None = None) -> Runbook:
    reviewed = (
        None if reviewed_days_ago is None else timezone.now() - timedelta(days=reviewed_days_ago)
    )
    return runbook_save(
        runbook=Runbook(slug=slug, title=slug.title(), owner_team=team, last_reviewed_at=reviewed),
        author=None,
        body=f"# {slug}",
    )


def test_list_shows_owner_rule_count_and_freshness_with_filters(
    client: Client, member: User, team: Team, django_assert_max_num_queries: Any
) -> None:
    other = Team.objects.create(slug="recsys", name="Recommendations")
    fresh = make_runbook("fresh-one", team, reviewed_days_ago=1)
    make_runbook("stale-one", team, reviewed_days_ago=400)
    make_runbook("never-reviewed", other)
    for index in range(3):
        AlertRule.objects.create(alertname=f"Rule{index}", runbook=fresh, owner_team=team)
    client.force_login(member)

    with django_assert_max_num_queries(6):
        everything = client.get("/runbooks/").content.decode()
    stale_only = client.get("/runbooks/?stale=1").content.decode()
    fresh_only = client.get("/runbooks/?stale=0").content.decode()
    team_only = client.get("/runbooks/?team=recsys").content.decode()

    assert '<td class="num">3</td>' in everything
    assert "Fraud ML" in everything and "Recommendations" in everything
    assert everything.count('class="chip bad freshness"') == 2
    assert everything.count('class="chip good freshness"') == 1
    assert "never reviewed" in everything
    assert "Stale-One" in stale_only and "Never-Reviewed" in stale_only
    assert "Fresh-One" not in stale_only
    assert "Fresh-One" in fresh_only and "Stale-One" not in fresh_only
    assert "Never-Reviewed" in team_only and "Fresh-One" not in team_only


def test_detail_renders_sanitized_body_rules_and_csp(
    client: Client,
    member: User,
    rule: AlertRule,
    runbook: Runbook,
    django_assert_max_num_queries: Any,
) -> None:
    runbook.body += "\n\n<script>alert(1)</script><img src=x onerror=alert(2)>"
    runbook.save()
    client.force_login(member)

    with django_assert_max_num_queries(6):
        response = client.get("/runbooks/fraud-latency/")

    html = response.content.decode()
    assert "Latency of the fraud scorer is high." in html
    assert "<script>alert" not in html and "onerror" not in html
    assert "ModelLatencyHigh" in html
    assert 'href="/runbooks/for/ModelLatencyHigh/?model=fraud-scorer"' in html
    assert "never reviewed" in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_missing_runbook_is_404_with_csp(client: Client, member: User) -> None:
    client.force_login(member)

    response = client.get("/runbooks/nope/")

    assert response.status_code == 404
    assert "object-src 'none'" in response["Content-Security-Policy"]


def test_new_form_is_prefilled_with_the_template_and_limited_to_own_teams(
    client: Client, member: User, team: Team
) -> None:
    Team.objects.create(slug="recsys", name="Recommendations")
    client.force_login(member)

    html = client.get("/runbooks/new/").content.decode()

    for section in (
        "## Summary",
        "## Impact",
        "## Diagnosis",
        "## Mitigation",
        "## Rollback",
        "## Escalation",
    ):
        assert section in html
    assert f'<option value="{team.pk}">Fraud ML</option>' in html
    assert "Recommendations" not in html


def test_new_runbook_for_an_alert_links_the_rule_and_writes_a_revision(
    client: Client, member: User, team: Team
) -> None:
    rule = AlertRule.objects.create(
        alertname="DriftHigh", matchers={"model": "fraud-scorer"}, owner_team=team
    )
    client.force_login(member)

    form = client.get("/runbooks/new/?alertname=DriftHigh&model=fraud-scorer").content.decode()
    response = client.post(
        "/runbooks/new/?alertname=DriftHigh&model=fraud-scorer",
        {
            "title": "Drift high",
            "slug": "",
            "owner_team": team.pk,
            "review_interval_days": 30,
            "body": RUNBOOK_TEMPLATE,
        },
    )

    assert "It will be linked to the alert rule" in form
    assert response.status_code == 302
    assert response["Location"] == "/runbooks/drift-high/"
    rule.refresh_from_db()
    assert rule.runbook is not None and rule.runbook.slug == "drift-high"
    revision = RunbookRevision.objects.get(runbook=rule.runbook)
    assert revision.author == member and revision.note == "Created"


def test_new_runbook_does_not_link_a_rule_of_another_team(
    client: Client, other_team_member: User, team: Team
) -> None:
    rule = AlertRule.objects.create(alertname="DriftHigh", owner_team=team)
    outsider_team = other_team_member.memberships.get().team
    client.force_login(other_team_member)

    form = client.get("/runbooks/new/?alertname=DriftHigh").content.decode()
    response = client.post(
        "/runbooks/new/?alertname=DriftHigh",
        {"title": "Mine", "owner_team": outsider_team.pk, "review_interval_days": 90, "body": "x"},
    )

    assert "It will not be linked to <strong>DriftHigh</strong>" in form
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.runbook is None


def test_new_runbook_rejects_another_teams_owner_and_reserved_slugs(
    client: Client, member: User, team: Team
) -> None:
    other = Team.objects.create(slug="recsys", name="Recommendations")
    client.force_login(member)

    foreign = client.post(
        "/runbooks/new/", {"title": "X", "owner_team": other.pk, "review_interval_days": 90}
    )
    reserved = client.post(
        "/runbooks/new/",
        {"title": "X", "slug": "new", "owner_team": team.pk, "review_interval_days": 90},
    )

    assert foreign.status_code == 200 and "Select a valid choice" in foreign.content.decode()
    assert "is reserved" in reserved.content.decode()
    assert not Runbook.objects.exists()


def test_user_without_team_cannot_create(client: Client, make_user: Callable[..., User]) -> None:
    client.force_login(make_user("loner"))

    assert client.get("/runbooks/new/").status_code == 403


def test_edit_form_query_count_is_bounded(
    client: Client, member: User, runbook: Runbook, django_assert_max_num_queries: Any
) -> None:
    client.force_login(member)

    with django_assert_max_num_queries(7):
        response = client.get("/runbooks/fraud-latency/edit/")

    assert response.status_code == 200
    assert "Latency of the fraud scorer is high." in response.content.decode()


def test_preview_renders_without_saving(client: Client, member: User, runbook: Runbook) -> None:
    client.force_login(member)

    response = client.post(
        "/runbooks/fraud-latency/edit/",
        {
            "title": runbook.title,
            "owner_team": runbook.owner_team_id,
            "review_interval_days": 90,
            "body": "| a |\n|---|\n| <b onclick=x>1</b> |",
            "preview": "1",
        },
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert '<article class="runbook-body preview"><table>' in html
    preview = html.split('class="runbook-body preview"')[1]
    assert "<b>1</b>" in preview and "onclick" not in preview
    runbook.refresh_from_db()
    assert "Latency of the fraud scorer" in runbook.body
    assert runbook.revisions.count() == 1


def test_edit_saves_a_revision_with_author_and_note(
    client: Client, member: User, runbook: Runbook
) -> None:
    client.force_login(member)

    response = client.post(
        "/runbooks/fraud-latency/edit/",
        {
            "title": "Fraud latency",
            "slug": "hijacked",
            "owner_team": runbook.owner_team_id,
            "review_interval_days": 90,
            "body": "New body",
            "note": "rewrote it",
        },
    )

    assert response.status_code == 302
    runbook.refresh_from_db()
    assert runbook.slug == "fraud-latency"
    assert runbook.body == "New body"
    latest = runbook.revisions.first()
    assert latest is not None and (latest.author, latest.note) == (member, "rewrote it")


def test_history_lists_revisions_and_diffs_any_two_safely(
    client: Client, member: User, runbook: Runbook, django_assert_max_num_queries: Any
) -> None:
    first = runbook.revisions.get()
    runbook_save(
        runbook=runbook, author=member, note="second", body="## Summary\n<script>alert(1)</script>"
    )
    runbook_save(runbook=runbook, author=None, note="third", body="## Summary\nthird text")
    third = runbook.revisions.first()
    assert third is not None
    client.force_login(member)

    with django_assert_max_num_queries(6):
        default = client.get("/runbooks/fraud-latency/history/").content.decode()
    chosen = client.get(
        f"/runbooks/fraud-latency/history/?a={first.pk}&b={third.pk}"
    ).content.decode()
    bad = client.get("/runbooks/fraud-latency/history/?a=999999&b=x").content.decode()

    assert "second" in default and "third" in default and "first" in default
    assert '<span class="diff-del">-&lt;script&gt;alert(1)&lt;/script&gt;</span>' in default
    assert '<span class="diff-add">+third text</span>' in default
    assert "<script>alert" not in default
    assert '<span class="diff-del">-Latency of the fraud scorer is high.</span>' in chosen
    assert '<span class="diff-add">+third text</span>' in chosen
    assert "Pick two revisions" in bad


def test_mark_reviewed_resets_freshness(client: Client, member: User, runbook: Runbook) -> None:
    client.force_login(member)
    assert runbook.is_stale()

    get = client.get("/runbooks/fraud-latency/review/")
    response = client.post("/runbooks/fraud-latency/review/")

    assert get.status_code == 405
    assert response.status_code == 302
    runbook.refresh_from_db()
    assert not runbook.is_stale()
    assert 'class="chip good freshness"' in client.get("/runbooks/fraud-latency/").content.decode()


def test_pages_require_login(client: Client, runbook: Runbook) -> None:
    for url in ("/runbooks/", "/runbooks/fraud-latency/", "/runbooks/for/X/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
