from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import AlertRule
from fleet.models import AISystem, Membership, Team
from runbooks.models import Runbook
from runbooks.services import runbook_save

# Pages and commands here read the clock (this week, last 7 days, review ages): pin it.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen_now")]


@pytest.fixture
def client_in(member: User) -> Client:
    client = Client()
    client.force_login(member)
    return client


def _fleet(n: int, team: Team) -> None:
    """n systems, half owned, each with rules on some layers, some without runbook."""
    fresh = runbook_save(
        runbook=Runbook(slug="fresh"), author=None, title="Fresh", last_reviewed_at=timezone.now()
    )
    stale = runbook_save(runbook=Runbook(slug="stale"), author=None, title="Old playbook")
    other = Team.objects.create(slug=f"t{n}", name=f"Team {n}")
    for i in range(n):
        system = AISystem.objects.create(
            slug=f"sys-{i}",
            name=f"System {i}",
            owner_team=(team, other, None)[i % 3],
            kind=("model", "agent", "pipeline")[i % 3],
        )
        for layer in ("infra", "ml", "business")[: 1 + i % 3]:
            AlertRule.objects.create(
                alertname=f"Alert{layer}",
                matchers={"model": system.slug},
                system=system,
                layer=layer,
                severity="warning",
                owner_team=system.owner_team,
                runbook=(fresh, stale, None)[i % 3],
            )


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_pages_need_login() -> None:
    for url in ("/", "/fleet/", "/fleet/anything/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", ["/", "/fleet/", "/fleet/sys-1/"])
def test_page_query_count_does_not_grow_with_the_fleet(
    client_in: Client, team: Team, url: str, django_assert_max_num_queries: Callable[..., object]
) -> None:
    _fleet(5, team)
    small = _queries(client_in, url)
    AlertRule.objects.all().delete()
    AISystem.objects.all().delete()
    Runbook.objects.all().delete()
    _fleet(50, team)
    assert _queries(client_in, url) == small
    with django_assert_max_num_queries(12):  # type: ignore[operator]
        client_in.get(url)


def test_overview_shows_teams_gaps_and_layer_coverage(client_in: Client, team: Team) -> None:
    _fleet(6, team)
    Team.objects.create(slug="ghost", name="Ghost team")
    AISystem.objects.create(slug="lonely", name="Lonely model")
    body = client_in.get("/").content.decode()
    assert "Fraud ML" in body
    assert "Ghost team" in body and "no members" in body
    assert "Lonely model" in body  # system without owner
    assert "Alertinfra" in body and "no runbook" in body and "no owner" in body
    assert "Business outcome (L3)" in body  # a system lacks a business alert
    # Fraud ML owns sys-0 and sys-3: 1 + 1 rules with the fresh runbook, 2 total → 100%.
    assert "100%" in body


def test_overview_team_row_computes_runbook_coverage(client_in: Client, team: Team) -> None:
    from fleet_coverage.dashboards.selectors import team_rows

    _fleet(6, team)
    row = next(r for r in team_rows() if r.team == team)
    # team owns sys-0 (1 rule, fresh runbook) and sys-3 (1 rule, fresh runbook)
    assert (row.systems, row.rules, row.rules_with_runbook, row.members) == (2, 2, 2, 1)
    unowned = next(r for r in team_rows() if r.team is None)
    assert unowned.systems == 2
    assert unowned.owned_share == 0.0


def test_fleet_list_filters(client_in: Client, team: Team) -> None:
    _fleet(6, team)
    body = client_in.get("/fleet/", {"team": "fraud-ml"}).content.decode()
    assert "System 0" in body and "System 3" in body and "System 1<" not in body
    body = client_in.get("/fleet/", {"team": "none"}).content.decode()
    assert "System 2" in body and "System 0" not in body
    body = client_in.get("/fleet/", {"kind": "agent"}).content.decode()
    assert "System 1" in body and "System 2" not in body
    body = client_in.get("/fleet/", {"q": "system 4"}).content.decode()
    assert "System 4" in body and "System 5" not in body
    body = client_in.get("/fleet/", {"tier": "critical"}).content.decode()
    assert "No system matches" in body


def test_fleet_list_shows_owner_and_layer_coverage(client_in: Client, team: Team) -> None:
    _fleet(3, team)
    body = client_in.get("/fleet/", {"q": "System 0"}).content.decode()
    assert "Fraud ML" in body
    assert 'chip good" title="Infrastructure (L1): 1 rules"' in body
    assert 'chip bad" title="ML operation (L2): 0 rules"' in body


def test_system_detail_shows_contacts_rules_by_layer_and_missing_layers(
    client_in: Client, team: Team, member: User, make_user: Callable[..., User]
) -> None:
    member.first_name, member.last_name, member.email = "Lena", "Vogt", "lena@example.com"
    member.save()
    Membership.objects.create(team=team, user=make_user("jonas"))
    team.chat_channel = "#fraud-oncall"
    team.save()
    stale = runbook_save(
        runbook=Runbook(slug="old"),
        author=None,
        title="Old runbook",
        last_reviewed_at=timezone.now() - timedelta(days=400),
    )
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=team)
    AlertRule.objects.create(
        alertname="ModelLatencyHigh", system=system, layer="infra", owner_team=team, runbook=stale
    )
    AlertRule.objects.create(alertname="DriftHigh", system=system, layer="ml")
    AlertRule.objects.create(
        alertname="CTRDrop", system=system, layer="business", status=AlertRule.Status.RETIRED
    )
    body = client_in.get("/fleet/fraud-scorer/").content.decode()
    assert "Lena Vogt" in body and "lena@example.com" in body and "jonas" in body
    assert "#fraud-oncall" in body
    assert "Old runbook" in body and "stale" in body
    assert "DriftHigh" in body and "no runbook" in body
    # DriftHigh has no team of its own: the system's team owns it (alerts.catalog.ownership).
    assert "no owner" not in body
    # The only business rule is retired: the layer counts as uncovered.
    assert "No live alert at all on:" in body
    assert body.count('chip bad">Business outcome (L3)') == 1
    assert body.index("Lena Vogt") < body.index("jonas")  # leads first


def test_system_detail_of_unknown_slug_is_404(client_in: Client) -> None:
    assert client_in.get("/fleet/nope/").status_code == 404


def test_system_without_owner_says_so(client_in: Client) -> None:
    AISystem.objects.create(slug="orphan", name="Orphan")
    body = client_in.get("/fleet/orphan/").content.decode()
    assert "no owner team" in body
