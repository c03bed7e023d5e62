"""The permission matrix: every writable endpoint × every kind of caller × create/update/delete,
with the exact status code each must get (api/permissions.py documents the rule)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Waiver
from fleet.models import AISystem, Membership, Team
from fleet_coverage.models import SLO
from fleet_coverage.slo.services import slo_save
from runbooks.models import Runbook
from tests.api_helpers import session_client, token_client

ACTORS = [
    "anonymous",
    "ingest_token",
    "read_token",
    "other_team_write_token",
    "own_team_write_token",
    "fleet_write_token",
    "other_team_user",
    "member_user",
    "staff_user",
]
OPS = ["create", "update", "delete"]
SUCCESS = {"create": 201, "update": 200, "delete": 204}
OWNERS = {"own_team_write_token", "fleet_write_token", "member_user", "staff_user"}
ADMINS = {"fleet_write_token", "staff_user"}
ALLOWED: dict[str, dict[str, set[str]]] = {
    "systems": dict.fromkeys(OPS, OWNERS),
    "alert-rules": dict.fromkeys(OPS, OWNERS),
    "runbooks": dict.fromkeys(OPS, OWNERS),
    "teams": {"create": ADMINS, "update": OWNERS, "delete": ADMINS},
    # Team tokens cannot manage people; a lead (member_user is a lead) can.
    "memberships": dict.fromkeys(OPS, {"fleet_write_token", "member_user", "staff_user"}),
    # A waiver lets an alert past the gate: staff or a fleet-wide token only.
    "waivers": dict.fromkeys(OPS, ADMINS),
    # An SLO belongs to its system's team (fleet_coverage/slo/api.py).
    "slos": dict.fromkeys(OPS, OWNERS),
}

SLO_FIELDS: dict[str, Any] = {
    "name": "Availability",
    "good_query": 'sum(rate(requests_total{code!~"5.."}[$window]))',
    "total_query": "sum(rate(requests_total[$window]))",
    "objective": "99.5",
    "window_days": 30,
    "layer": "infra",
}


def expected_status(endpoint: str, actor: str, op: str) -> int:
    if actor == "anonymous":
        return 401
    return SUCCESS[op] if actor in ALLOWED[endpoint][op] else 403


@pytest.fixture
def world(team: Team, member: User, make_user: Callable[..., User]) -> dict[str, Any]:
    other = Team.objects.create(slug="search", name="Search")
    staff = make_user("staff", staff=True)
    outsider = make_user("outsider")
    Membership.objects.create(team=other, user=outsider)
    newcomer = make_user("newcomer")
    colleague = make_user("colleague")
    runbook = Runbook.objects.create(slug="own-runbook", title="Own", owner_team=team)
    system = AISystem.objects.create(slug="own-system", name="Own system", owner_team=team)
    rule = AlertRule.objects.create(alertname="OwnAlert", owner_team=team, severity="warning")
    waiver = Waiver.objects.create(
        alertname="OwnAlert",
        lint_check="summary",
        reason="pending",
        approver=staff,
        expires_at=timezone.now() + timedelta(days=7),
    )
    membership = Membership.objects.create(team=team, user=colleague)
    slo = slo_save(slo=SLO(), **SLO_FIELDS, system=system, slug="availability")
    clients = {
        "anonymous": Client(),
        "ingest_token": token_client("ingest", team, staff),
        "read_token": token_client("read", team, staff),
        "other_team_write_token": token_client("write", other, staff),
        "own_team_write_token": token_client("write", team, staff),
        "fleet_write_token": token_client("write", None, staff),
        "other_team_user": session_client(outsider),
        "member_user": session_client(member),
        "staff_user": session_client(staff),
    }
    return {
        "clients": clients,
        "create": {
            "systems": {"slug": "new-system", "name": "New", "owner_team": team.slug},
            "alert-rules": {"alertname": "NewAlert", "owner_team": team.slug, "severity": "page"},
            "runbooks": {"slug": "new-runbook", "title": "New", "owner_team": team.slug},
            "teams": {"slug": "new-team", "name": "New team"},
            "memberships": {"team": team.slug, "user": newcomer.username, "role": "member"},
            "slos": {**SLO_FIELDS, "system": system.slug, "slug": "latency"},
            "waivers": {
                "alertname": "NewAlert",
                "check": "owner",
                "reason": "migration",
                "expires_at": (timezone.now() + timedelta(days=3)).isoformat(),
            },
        },
        "detail": {
            "systems": f"/api/v1/systems/{system.slug}/",
            "alert-rules": f"/api/v1/alert-rules/{rule.pk}/",
            "runbooks": f"/api/v1/runbooks/{runbook.slug}/",
            "teams": f"/api/v1/teams/{team.slug}/",
            "memberships": f"/api/v1/memberships/{membership.pk}/",
            "waivers": f"/api/v1/waivers/{waiver.pk}/",
            "slos": f"/api/v1/slos/{slo.pk}/",
        },
        "update": {
            "systems": {"name": "Renamed"},
            "alert-rules": {"summary": "Changed"},
            "runbooks": {"title": "Renamed"},
            "teams": {"name": "Renamed"},
            "memberships": {"role": "lead"},
            "waivers": {"reason": "still pending"},
            "slos": {"objective": "99.9"},
        },
    }


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("endpoint", list(ALLOWED))
def test_permission_matrix(world: dict[str, Any], endpoint: str, actor: str, op: str) -> None:
    client = world["clients"][actor]
    if op == "create":
        response = client.post(
            f"/api/v1/{endpoint}/", world["create"][endpoint], content_type="application/json"
        )
    elif op == "update":
        response = client.patch(
            world["detail"][endpoint], world["update"][endpoint], content_type="application/json"
        )
    else:
        response = client.delete(world["detail"][endpoint])
    assert response.status_code == expected_status(endpoint, actor, op), response.content
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize("actor", ACTORS)
def test_reads_need_read_scope_or_login(world: dict[str, Any], actor: str) -> None:
    response = world["clients"][actor].get("/api/v1/alert-rules/")
    expected = {"anonymous": 401, "ingest_token": 403}.get(actor, 200)
    assert response.status_code == expected


@pytest.mark.parametrize(
    ("actor", "path", "payload"),
    [
        ("own_team_write_token", "alert-rules", {"owner_team": "search"}),
        ("member_user", "alert-rules", {"owner_team": "search"}),
        ("own_team_write_token", "alert-rules", {"owner_team": None}),
        ("own_team_write_token", "systems", {"owner_team": "search"}),
        ("member_user", "runbooks", {"owner_team": "search"}),
    ],
)
def test_cannot_move_an_object_to_a_team_one_is_not_member_of(
    world: dict[str, Any], actor: str, path: str, payload: dict[str, Any]
) -> None:
    response = world["clients"][actor].patch(
        world["detail"][path], payload, content_type="application/json"
    )
    assert response.status_code == 403
    assert AlertRule.objects.filter(owner_team__slug="search").count() == 0


def test_cannot_create_for_another_team(world: dict[str, Any]) -> None:
    response = world["clients"]["own_team_write_token"].post(
        "/api/v1/alert-rules/",
        {"alertname": "Sneaky", "owner_team": "search"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not AlertRule.objects.filter(alertname="Sneaky").exists()


@pytest.mark.parametrize("field", ["runbook", "system"])
def test_cannot_attach_another_teams_runbook_or_system(world: dict[str, Any], field: str) -> None:
    other = Team.objects.get(slug="search")
    Runbook.objects.create(slug="their-runbook", title="Theirs", owner_team=other)
    AISystem.objects.create(slug="their-system", name="Theirs", owner_team=other)
    client = world["clients"]["own_team_write_token"]
    response = client.patch(
        world["detail"]["alert-rules"], {field: f"their-{field}"}, content_type="application/json"
    )
    assert response.status_code == 403
    created = client.post(
        "/api/v1/alert-rules/",
        {"alertname": "X", "owner_team": "fraud-ml", field: f"their-{field}"},
        content_type="application/json",
    )
    assert created.status_code == 403
    fleet = world["clients"]["fleet_write_token"].patch(
        world["detail"]["alert-rules"], {field: f"their-{field}"}, content_type="application/json"
    )
    assert fleet.status_code == 200


def test_member_cannot_add_members_to_a_team_they_do_not_lead(world: dict[str, Any]) -> None:
    response = world["clients"]["member_user"].post(
        "/api/v1/memberships/",
        {"team": "search", "user": "newcomer"},
        content_type="application/json",
    )
    assert response.status_code == 403


def test_tokens_are_never_exposed(world: dict[str, Any]) -> None:
    client = world["clients"]["staff_user"]
    assert client.get("/api/v1/tokens/").status_code == 404
    schema = client.get("/api/schema/").content.decode()
    assert "token_hash" not in schema
    team = client.get(world["detail"]["teams"]).json()
    assert "chat_webhook_url" not in team
