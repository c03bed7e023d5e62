"""Catalog endpoints: filters, read-only history, runbook revisions, one error body shape."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Decision, Episode, Review, RuleFlag, RuleWeek
from fleet.models import AISystem, Team
from runbooks.models import Runbook, RunbookRevision
from tests.api_helpers import session_client, token_client

# Episode durations, waiver expiry and "firing" read the clock: pin it.
pytestmark = pytest.mark.usefixtures("frozen_now")


@pytest.fixture
def history(team: Team, member: User) -> dict[str, Any]:
    other = Team.objects.create(slug="search", name="Search")
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud", owner_team=team)
    ours = AlertRule.objects.create(alertname="Ours", owner_team=team, system=system)
    theirs = AlertRule.objects.create(alertname="Theirs", owner_team=other)
    now = timezone.now()
    Episode.objects.create(
        rule=ours,
        fingerprint="a",
        starts_at=now - timedelta(days=3),
        source="prometheus",
        ends_at=now - timedelta(days=3) + timedelta(minutes=5),
        system=system,
    )
    Episode.objects.create(rule=ours, fingerprint="b", starts_at=now, source="grafana")
    Episode.objects.create(rule=theirs, fingerprint="c", starts_at=now, source="prometheus")
    for rule in (ours, theirs):
        RuleWeek.objects.create(rule=rule, week="2026-W47", fires=30)
        RuleWeek.objects.create(rule=rule, week="2026-W46", fires=3)
        RuleFlag.objects.create(rule=rule, week="2026-W47", flag="noisy", message="Noisy")
    review = Review.objects.create(week="2026-W47", team=team)
    Decision.objects.create(review=review, week="2026-W47", rule=ours, kind="tune", owner=member)
    return {"ours": ours, "theirs": theirs, "now": now}


@pytest.fixture
def reader(history: dict[str, Any]) -> Client:
    return token_client("read")


def results(client: Client, url: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def test_episode_filters(reader: Client, history: dict[str, Any]) -> None:
    ours = history["ours"].pk
    assert len(results(reader, "/api/v1/episodes/")) == 3
    assert len(results(reader, "/api/v1/episodes/", rule=ours)) == 2
    assert [e["fingerprint"] for e in results(reader, "/api/v1/episodes/", state="open")] == [
        "b",
        "c",
    ] or {e["fingerprint"] for e in results(reader, "/api/v1/episodes/", state="open")} == {
        "b",
        "c",
    }
    resolved = results(reader, "/api/v1/episodes/", state="resolved")
    assert [(e["fingerprint"], e["state"]) for e in resolved] == [("a", "resolved")]
    assert len(results(reader, "/api/v1/episodes/", system="fraud-scorer")) == 1
    assert len(results(reader, "/api/v1/episodes/", source="grafana")) == 1
    since = (history["now"] - timedelta(days=1)).isoformat()
    assert len(results(reader, "/api/v1/episodes/", since=since)) == 2
    assert len(results(reader, "/api/v1/episodes/", until=since)) == 1
    ordered = results(reader, "/api/v1/episodes/", ordering="starts_at")
    assert ordered[0]["fingerprint"] == "a"


def test_episodes_are_read_only(history: dict[str, Any], team: Team) -> None:
    writer = token_client("write")
    response = writer.post("/api/v1/episodes/", {}, content_type="application/json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_weekly_statistics_and_flags_by_week_and_team(reader: Client, history: Any) -> None:
    weeks = results(reader, "/api/v1/rule-weeks/", week="2026-W47", team="fraud-ml")
    assert [(w["alertname"], w["fires"], w["team"]) for w in weeks] == [("Ours", 30, "fraud-ml")]
    assert len(results(reader, "/api/v1/rule-weeks/", week="2026-W46")) == 2
    flags = results(reader, "/api/v1/flags/", week="2026-W47", team="search")
    assert [(f["alertname"], f["flag"]) for f in flags] == [("Theirs", "noisy")]


def test_reviews_and_decisions_are_readable_not_writable(reader: Client, history: Any) -> None:
    reviews = results(reader, "/api/v1/reviews/", week="2026-W47")
    assert reviews[0]["team"] == "fraud-ml" and len(reviews[0]["decisions"]) == 1
    decisions = results(reader, "/api/v1/decisions/", team="fraud-ml", open="true")
    assert [(d["alertname"], d["kind"], d["owner"]) for d in decisions] == [
        ("Ours", "tune", "member")
    ]
    staff = session_client(User.objects.create_user("boss", is_staff=True))
    assert staff.post("/api/v1/decisions/", {}).status_code == 405


def test_list_queries_do_not_grow_with_rows(
    reader: Client, history: Any, django_assert_max_num_queries: Any
) -> None:
    reader.get("/api/v1/teams/")  # token last_used_at write happens once
    for path in ["/api/v1/episodes/", "/api/v1/flags/", "/api/v1/decisions/", "/api/v1/teams/"]:
        with django_assert_max_num_queries(4):
            reader.get(path)
    with django_assert_max_num_queries(5):
        reader.get("/api/v1/reviews/")


def test_runbook_writes_record_revisions_and_render_html(team: Team, member: User) -> None:
    client = session_client(member)
    created = client.post(
        "/api/v1/runbooks/",
        {"slug": "rb", "title": "RB", "owner_team": "fraud-ml", "body": "# Hi\n<script>x</script>"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert ">Hi</h1>" in created.json()["rendered_html"]
    assert "<script" not in created.json()["rendered_html"]
    client.patch("/api/v1/runbooks/rb/", {"body": "changed"}, content_type="application/json")
    revisions = RunbookRevision.objects.filter(runbook__slug="rb")
    assert [r.body for r in revisions] == ["changed", "# Hi\n<script>x</script>"]
    assert all(r.author == member for r in revisions)
    rejected = client.patch(
        "/api/v1/runbooks/rb/", {"rendered_html": "<b>x</b>"}, content_type="application/json"
    )
    assert rejected.status_code == 200
    assert Runbook.objects.get(slug="rb").body == "changed"


def test_duplicate_rule_is_a_400_not_a_500(team: Team, member: User) -> None:
    client = session_client(member)
    payload = {"alertname": "Dup", "matchers": {"model": "x"}, "owner_team": "fraud-ml"}
    assert (
        client.post("/api/v1/alert-rules/", payload, content_type="application/json").status_code
        == 201
    )
    again = client.post("/api/v1/alert-rules/", payload, content_type="application/json")
    assert again.status_code == 400
    # The message of AlertRule.clean, the one the admin shows.
    assert "already exists" in again.json()["error"]["fields"]["alertname"][0]


def test_muting_a_rule_sets_muted_at(team: Team, member: User) -> None:
    rule = AlertRule.objects.create(alertname="M", owner_team=team)
    response = session_client(member).patch(
        f"/api/v1/alert-rules/{rule.pk}/", {"status": "muted"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["muted_at"] is not None


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("get", "/api/v1/alert-rules/999999/", 404, "not_found"),
        ("get", "/api/v1/nowhere/", 404, "not_found"),
        ("delete", "/api/v1/ownership/", 405, "method_not_allowed"),
    ],
)
def test_errors_share_one_body(
    reader: Client, method: str, path: str, status: int, code: str
) -> None:
    response = getattr(reader, method)(path)
    assert response.status_code == status
    assert response.json() == {
        "error": {"code": code, "message": response.json()["error"]["message"], "fields": {}}
    }


def test_validation_error_lists_fields(team: Team, member: User) -> None:
    response = session_client(member).post(
        "/api/v1/systems/",
        {"slug": "bad slug!", "owner_team": "fraud-ml"},
        content_type="application/json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"slug", "name"}


def test_unauthenticated_is_a_json_401(db: None) -> None:
    response = Client().get("/api/v1/teams/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    bad = Client(HTTP_AUTHORIZATION="Bearer nope").get("/api/v1/teams/")
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "authentication_failed"


def test_waiver_defaults_approver_to_the_caller(db: None) -> None:
    staff = User.objects.create_user("boss", is_staff=True)
    response = session_client(staff).post(
        "/api/v1/waivers/",
        {
            "alertname": "X",
            "check": "summary",
            "reason": "legacy",
            "expires_at": (timezone.now() + timedelta(days=1)).isoformat(),
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["approver"] == "boss" and response.json()["active"] is True
    anonymous_token = token_client("write")
    orphan = anonymous_token.post(
        "/api/v1/waivers/",
        {"alertname": "X", "check": "owner", "reason": "r", "expires_at": "2099-01-01T00:00:00Z"},
        content_type="application/json",
    )
    assert orphan.status_code == 400
    assert "approver" in orphan.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/ownership/?alertname=A%00B", None),
        ("get", "/api/v1/systems/a%00b/", None),
        ("post", "/api/v1/systems/", '{"slug": "s", "name": "n", "owner_team": "a\\u0000"}'),
        ("post", "/api/v1/ownership/", '{"alerts": [{"alertname": "a\\u0000"}]}'),
    ],
)
def test_nul_characters_are_a_400_on_every_database(
    team: Team, method: str, path: str, body: str | None
) -> None:
    client = token_client("write")
    if body is None:
        response = client.get(path)
    else:
        response = client.post(path, body, content_type="application/json")
    assert response.status_code == 400
    assert "NUL" in response.json()["error"]["message"]
    assert client.get("/api/v1/teams/").status_code == 200  # the connection is still usable


def test_lint_with_nul_in_names_does_not_break_the_database(team: Team) -> None:
    text = 'groups:\n- name: g\n  rules:\n  - alert: "A\\0"\n    expr: up\n'
    response = token_client("read").post("/api/v1/rules/lint/", text, content_type="text/yaml")
    assert response.status_code == 200
    assert response.json()["ok"] is False


def test_a_rule_the_admin_rejects_is_rejected_by_the_api_with_the_same_messages(
    team: Team, member: User
) -> None:
    """Issue 13's example: matchers naming another system, muted until 2020."""
    AISystem.objects.create(slug="fraud-scorer", name="Fraud", owner_team=team)
    payload = {
        "alertname": "Mismatch",
        "matchers": {"model": "churn-model"},
        "system": "fraud-scorer",
        "owner_team": "fraud-ml",
        "status": "muted",
        "muted_until": "2020-01-01T00:00:00Z",
    }
    response = session_client(member).post(
        "/api/v1/alert-rules/", payload, content_type="application/json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"system", "muted_until"}
    assert "make them agree" in fields["system"][0]
    assert "in the past" in fields["muted_until"][0]
    assert not AlertRule.objects.filter(alertname="Mismatch").exists()


def test_an_update_is_validated_as_the_whole_rule(team: Team, member: User) -> None:
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud", owner_team=team)
    rule = AlertRule.objects.create(alertname="R", owner_team=team, system=system)
    response = session_client(member).patch(
        f"/api/v1/alert-rules/{rule.pk}/",
        {"matchers": {"system": "other"}},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"system"}
