from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule
from fleet.models import AISystem, Team
from runbooks.models import Runbook
from tests.api_helpers import token_client


@pytest.fixture
def read_client(team: Team) -> Client:
    client = token_client("read")
    # The first use records last_used_at (then at most once a minute): warm it up so query
    # counts measure the steady state.
    client.get("/api/v1/ownership/?alertname=Warmup")
    return client


@pytest.fixture
def catalog(team: Team, member: User) -> dict[str, Any]:
    team.chat_channel = "#fraud-ml-oncall"
    team.email = "fraud-ml@example.com"
    team.escalation_url = "https://pager.example.com/fraud-ml"
    team.save()
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=team)
    runbook = Runbook.objects.create(
        slug="latency", title="Latency", owner_team=team, last_reviewed_at=timezone.now()
    )
    generic = AlertRule.objects.create(alertname="ModelLatencyHigh", severity="warning")
    specific = AlertRule.objects.create(
        alertname="ModelLatencyHigh",
        matchers={"model": "fraud-scorer"},
        severity="page",
        layer="infra",
        owner_team=team,
        system=system,
        runbook=runbook,
    )
    return {"generic": generic, "specific": specific, "runbook": runbook}


def test_owned_alert_resolves_most_specific_rule(
    read_client: Client, catalog: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(3):
        response = read_client.get(
            "/api/v1/ownership/", {"alertname": "ModelLatencyHigh", "model": "fraud-scorer"}
        )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "owned"
    assert body["rule"]["id"] == catalog["specific"].pk
    assert body["rule"]["severity"] == "page"
    assert body["team"]["chat_channel"] == "#fraud-ml-oncall"
    assert body["team"]["escalation_url"] == "https://pager.example.com/fraud-ml"
    assert body["leads"] == [{"username": "member", "name": "member"}]
    assert body["system"]["slug"] == "fraud-scorer"
    assert body["runbook_slug"] == "latency"
    assert body["stale"] is False
    assert body["runbook_url"] == (
        "http://127.0.0.1:8000/runbooks/for/ModelLatencyHigh/?model=fraud-scorer"
    )


def test_the_answer_says_which_rule_matched_and_why(
    read_client: Client, catalog: dict[str, Any]
) -> None:
    specific, generic = catalog["specific"], catalog["generic"]
    body = read_client.get(
        "/api/v1/ownership/", {"alertname": "ModelLatencyHigh", "model": "fraud-scorer"}
    ).json()
    assert body["matched_by"] == {
        "rule": specific.pk,
        "matchers": {"model": "fraud-scorer"},
        "reason": "most_specific",
        "explanation": (
            "The most specific rule whose matchers all hold: its matchers include those of "
            f"every other rule the labels fit (#{generic.pk})."
        ),
        "outranks": [generic.pk],
        "owner_from": "rule",
    }
    only = read_client.get(
        "/api/v1/ownership/", {"alertname": "ModelLatencyHigh", "model": "churn"}
    ).json()["matched_by"]
    assert (only["rule"], only["reason"], only["outranks"]) == (generic.pk, "only_candidate", [])
    assert only["owner_from"] is None
    ambiguous = read_client.get("/api/v1/ownership/", {"alertname": "ModelLatencyHigh"}).json()
    assert ambiguous["status"] == "ambiguous" and ambiguous["matched_by"] is None


def test_the_answer_says_when_the_owner_comes_from_the_system(
    read_client: Client, team: Team
) -> None:
    system = AISystem.objects.create(slug="churn", name="Churn", owner_team=team)
    AlertRule.objects.create(alertname="DriftHigh", matchers={"model": "churn"}, system=system)
    body = read_client.get("/api/v1/ownership/", {"alertname": "DriftHigh"}).json()
    assert body["team"]["slug"] == "fraud-ml"
    assert body["matched_by"]["owner_from"] == "system"


def test_catch_all_rule_without_team_is_unowned(read_client: Client, catalog: Any) -> None:
    # Another model's alert: only the catch-all fits (no labels at all is ambiguous).
    body = read_client.get(
        "/api/v1/ownership/", {"alertname": "ModelLatencyHigh", "model": "churn"}
    ).json()
    assert body["status"] == "unowned"
    assert body["rule"]["id"] == catalog["generic"].pk
    assert body["team"] is None
    assert body["stale"] is None


def test_team_without_members_is_unowned(read_client: Client) -> None:
    empty = Team.objects.create(slug="empty", name="Empty")
    AlertRule.objects.create(alertname="Lonely", owner_team=empty)
    assert read_client.get("/api/v1/ownership/?alertname=Lonely").json()["status"] == "unowned"


def test_stale_runbook_is_reported(read_client: Client, catalog: dict[str, Any]) -> None:
    runbook = catalog["runbook"]
    runbook.last_reviewed_at = timezone.now() - timedelta(days=400)
    runbook.save()
    body = read_client.get("/api/v1/ownership/?alertname=ModelLatencyHigh&model=fraud-scorer")
    assert body.json()["stale"] is True


def test_unknown_alertname_is_uncatalogued_not_404(read_client: Client, db: None) -> None:
    response = read_client.get("/api/v1/ownership/?alertname=NeverSeen&env=prod")
    assert response.status_code == 200
    assert response.json()["status"] == "uncatalogued"
    assert response.json()["runbook_url"].endswith("/runbooks/for/NeverSeen/?env=prod")


def test_discovered_rule_is_uncatalogued(read_client: Client, team: Team) -> None:
    AlertRule.objects.create(alertname="Found", catalogued=False, owner_team=team)
    assert read_client.get("/api/v1/ownership/?alertname=Found").json()["status"] == "uncatalogued"


def test_missing_alertname_is_a_json_400(read_client: Client, db: None) -> None:
    response = read_client.get("/api/v1/ownership/?model=x")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["alertname"]


def test_ingest_token_cannot_ask(team: Team) -> None:
    response = token_client("ingest").get("/api/v1/ownership/?alertname=X")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_batch_of_1000_alerts_in_order_with_constant_queries(
    read_client: Client, catalog: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    for i in range(50):
        AlertRule.objects.create(alertname=f"Rule{i}", owner_team=catalog["specific"].owner_team)
    alerts = []
    for i in range(1000):
        if i % 3 == 0:
            alerts.append({"alertname": "ModelLatencyHigh", "labels": {"model": "fraud-scorer"}})
        elif i % 3 == 1:
            alerts.append({"alertname": f"Rule{i % 50}", "labels": {"env": "prod"}})
        else:
            alerts.append({"alertname": f"Unknown{i}"})
    with django_assert_max_num_queries(3):
        response = read_client.post(
            "/api/v1/ownership/", {"alerts": alerts}, content_type="application/json"
        )
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 1000
    assert [r["alertname"] for r in results] == [a["alertname"] for a in alerts]
    assert results[0]["status"] == "owned"
    assert results[1]["status"] == "owned"
    assert results[2]["status"] == "uncatalogued"


def test_batch_over_5000_is_rejected(read_client: Client, db: None) -> None:
    alerts = [{"alertname": "A"}] * 5001
    response = read_client.post(
        "/api/v1/ownership/", {"alerts": alerts}, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_batch_rejects_malformed_items(read_client: Client, db: None) -> None:
    response = read_client.post(
        "/api/v1/ownership/",
        {"alerts": [{"labels": {"a": "b"}}]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "alerts" in response.json()["error"]["fields"]


def test_cached_answer_follows_catalog_changes(
    read_client: Client, catalog: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    path = "/api/v1/ownership/?alertname=ModelLatencyHigh&model=fraud-scorer"
    assert read_client.get(path).json()["status"] == "owned"
    with django_assert_max_num_queries(1):  # the token; the answer comes from the cache
        assert read_client.get(path).json()["team"]["slug"] == "fraud-ml"
    other = Team.objects.create(slug="search", name="Search")
    writer = token_client("write")
    response = writer.patch(
        f"/api/v1/alert-rules/{catalog['specific'].pk}/",
        {"owner_team": "search"},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = read_client.get(path).json()
    assert body["team"]["slug"] == other.slug
    assert body["status"] == "unowned"  # Search has no members yet


def test_cache_outage_falls_back_to_the_database(
    read_client: Client, catalog: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get_many", broken)
    body = read_client.get("/api/v1/ownership/?alertname=ModelLatencyHigh&model=fraud-scorer")
    assert body.json()["status"] == "owned"


def test_revoked_token_is_refused_at_once_despite_the_token_cache(team: Team) -> None:
    from tokens.models import ApiToken
    from tokens.services import token_create, token_revoke

    token, raw = token_create(name="router", scope="read")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/ownership/?alertname=X").status_code == 200
    token_revoke(token=ApiToken.objects.get(pk=token.pk))
    response = client.get("/api/v1/ownership/?alertname=X")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_warm_lookup_needs_no_query(
    read_client: Client, catalog: Any, django_assert_num_queries: Any
) -> None:
    path = "/api/v1/ownership/?alertname=ModelLatencyHigh&model=fraud-scorer"
    read_client.get(path)
    with django_assert_num_queries(0):
        assert read_client.get(path).json()["status"] == "owned"
