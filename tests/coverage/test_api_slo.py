from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from django.contrib.auth.models import User
from django.test import Client

from alerts.models import AlertRule
from fleet.models import AISystem, Team
from fleet_coverage.models import SLO
from tests.coverage.conftest import GOOD, TOTAL
from tokens.services import token_create

BODY = {
    "system": "fraud-scorer",
    "name": "Availability",
    "slug": "availability",
    "good_query": GOOD,
    "total_query": TOTAL,
    "objective": "99.5",
    "window_days": 28,
    "layer": "infra",
}


def _bearer(scope: str, team: Team | None = None) -> dict[str, str]:
    _, raw = token_create(name=f"{scope} token", scope=scope, team=team)
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _post(client: Client, body: dict[str, Any], **headers: str) -> Any:
    return client.post("/api/v1/slos/", body, content_type="application/json", **headers)


def test_team_write_token_creates_an_slo_and_its_rules_are_catalogued(
    client: Client, system: AISystem, team: Team
) -> None:
    response = _post(client, BODY, **_bearer("write", team))
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["owner_team"] == "fraud-ml"
    assert data["alertnames"] == [
        "FraudScorerAvailabilityBudgetBurnFast",
        "FraudScorerAvailabilityBudgetBurnSlow",
    ]
    assert AlertRule.objects.filter(matchers_key="slo=availability").count() == 2


def test_read_token_may_list_but_not_write(
    client: Client, system: AISystem, team: Team, make_slo: Callable[..., SLO]
) -> None:
    make_slo()
    headers = _bearer("read", team)
    listed = client.get("/api/v1/slos/?system=fraud-scorer", **headers)
    assert listed.status_code == 200
    assert [s["slug"] for s in listed.json()["results"]] == ["availability"]
    assert _post(client, {**BODY, "slug": "other"}, **headers).status_code == 403


def test_ingest_token_may_not_read(client: Client, system: AISystem) -> None:
    assert client.get("/api/v1/slos/", **_bearer("ingest")).status_code == 403


def test_anonymous_gets_401(client: Client, db: None) -> None:
    assert client.get("/api/v1/slos/").status_code == 401
    assert client.get("/api/v1/scorecards/").status_code == 401
    assert client.get("/api/v1/teams/fraud-ml/slo-rules.yml").status_code == 401


def test_other_teams_token_may_not_create_update_or_delete(
    client: Client, system: AISystem, make_slo: Callable[..., SLO]
) -> None:
    slo = make_slo()
    headers = _bearer("write", Team.objects.create(slug="recs", name="Recs"))
    assert _post(client, {**BODY, "slug": "latency"}, **headers).status_code == 403
    url = f"/api/v1/slos/{slo.pk}/"
    patch = client.patch(url, {"objective": "99"}, content_type="application/json", **headers)
    assert patch.status_code == 403
    assert client.delete(url, **headers).status_code == 403
    assert SLO.objects.filter(pk=slo.pk).exists()


def test_member_session_updates_and_deletes(
    client: Client, member: User, make_slo: Callable[..., SLO]
) -> None:
    slo = make_slo()
    client.force_login(member)
    url = f"/api/v1/slos/{slo.pk}/"
    response = client.patch(url, {"objective": "99.9"}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert "(14.4 * 0.001)" in AlertRule.objects.get(severity="page").expression
    assert client.delete(url).status_code == 204
    assert set(AlertRule.objects.values_list("status", flat=True)) == {"retired"}


def test_member_may_not_hand_an_slo_to_another_team(
    client: Client, member: User, system: AISystem
) -> None:
    Team.objects.create(slug="recs", name="Recs")
    client.force_login(member)
    assert _post(client, {**BODY, "owner_team": "recs"}).status_code == 403


def test_invalid_sli_is_a_400_naming_the_problem(
    client: Client, system: AISystem, team: Team
) -> None:
    body = {**BODY, "ratio_query": "avg_over_time(up[$window])"}
    response = _post(client, body, **_bearer("write", team))
    assert response.status_code == 400
    assert "not both" in response.json()["error"]["message"]
    response = _post(client, {**BODY, "good_query": "sum(rate(x[5m]))"}, **_bearer("write"))
    assert response.status_code == 400
    assert "$window" in response.json()["error"]["fields"]["good_query"][0]


def test_team_rule_file_over_the_api(
    client: Client, make_slo: Callable[..., SLO], team: Team
) -> None:
    make_slo()
    response = client.get("/api/v1/teams/fraud-ml/slo-rules.yml", **_bearer("read"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml"
    groups = yaml.safe_load(response.content)["groups"]
    assert groups[0]["name"] == "slo:fraud-scorer:availability"
    assert client.get("/api/v1/teams/nope/slo-rules.yml", **_bearer("read")).status_code == 404


def test_scorecards_api(client: Client, system: AISystem, make_slo: Callable[..., SLO]) -> None:
    make_slo()
    AISystem.objects.create(slug="bare", name="Bare")
    headers = _bearer("read")
    data = client.get("/api/v1/scorecards/", **headers).json()
    assert [s["system"] for s in data["systems"]] == ["bare", "fraud-scorer"]
    assert data["fleet"]["systems"] == 2
    bare = data["systems"][0]
    assert bare["score"] == 35 and bare["team"] is None
    assert {m["code"] for m in bare["missing"]} == {
        "layer:infra",
        "layer:ml",
        "layer:business",
        "slo",
    }
    filtered = client.get("/api/v1/scorecards/?team=fraud-ml", **headers).json()
    assert [s["system"] for s in filtered["systems"]] == ["fraud-scorer"]
    detail = client.get("/api/v1/scorecards/fraud-scorer/", **headers).json()
    assert detail["slos"] == 1 and detail["trend"] == []
    missing = client.get("/api/v1/scorecards/nope/", **headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert "nope" in missing.json()["error"]["message"]
    assert client.get("/api/v1/scorecards/", **_bearer("ingest")).status_code == 403


@pytest.mark.parametrize("path", ["/fleet/teams/fraud-ml/slo-rules.yml"])
def test_rule_file_download_needs_login(client: Client, team: Team, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_rule_file_download_for_a_logged_in_user(
    client: Client, make_user: Callable[..., User], make_slo: Callable[..., SLO]
) -> None:
    make_slo()
    client.force_login(make_user("viewer"))
    response = client.get("/fleet/teams/fraud-ml/slo-rules.yml")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="fraud-ml-slo-rules.yml"'
    assert b"FraudScorerAvailabilityBudgetBurnFast" in response.content
    assert client.get("/fleet/teams/nope/slo-rules.yml").status_code == 404
