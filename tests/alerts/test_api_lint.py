from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from alerts.models import AlertRule
from fleet.models import Team
from runbooks.models import Runbook
from tests.api_helpers import token_client

RULES = Path(__file__).parent / "fixtures" / "rules"


@pytest.fixture
def catalog(team: Team, member: object) -> None:
    runbook = Runbook.objects.create(slug="latency", title="Latency", owner_team=team)
    Runbook.objects.create(slug="drift", title="Drift", owner_team=team)
    AlertRule.objects.create(alertname="ModelLatencyHigh", owner_team=team, runbook=runbook)
    AlertRule.objects.create(alertname="FeatureDriftHigh", owner_team=team, layer="ml")


@pytest.fixture
def client(catalog: None) -> Client:
    return token_client("read")


@pytest.mark.parametrize("content_type", ["application/yaml", "text/yaml", "text/plain"])
def test_yaml_body(client: Client, content_type: str) -> None:
    body = (RULES / "bad.yml").read_text()
    response = client.post("/api/v1/rules/lint/", body, content_type=content_type)
    assert response.status_code == 200
    data = response.json()
    assert data["ok"] is False and data["errors"] == 12
    assert data["violations"][0]["file"] == "body"


def test_good_body_is_ok(client: Client) -> None:
    body = (RULES / "good.yml").read_text()
    response = client.post("/api/v1/rules/lint/", body, content_type="application/yaml")
    assert response.json()["ok"] is True


def test_multipart_with_several_files(client: Client) -> None:
    response = client.post(
        "/api/v1/rules/lint/",
        {
            "file": [
                SimpleUploadedFile("good.yml", (RULES / "good.yml").read_bytes()),
                SimpleUploadedFile("bad.yml", (RULES / "bad.yml").read_bytes()),
            ]
        },
    )
    assert response.status_code == 200
    data = response.json()
    assert data["files"] == 2
    assert {v["file"] for v in data["violations"]} == {"bad.yml"}


@pytest.mark.parametrize(
    ("output", "start"),
    [("text", "rules/bad.yml:4: error [owner]"), ("github", "::error file=rules/bad.yml,line=4,")],
)
def test_plain_text_outputs(client: Client, output: str, start: str) -> None:
    body = (RULES / "bad.yml").read_text()
    response = client.post(
        f"/api/v1/rules/lint/?output={output}&filename=rules/bad.yml",
        body,
        content_type="application/yaml",
    )
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith(start)


def test_empty_body_is_a_json_400(client: Client) -> None:
    response = client.post("/api/v1/rules/lint/", "", content_type="application/yaml")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_unknown_output_is_a_400(client: Client) -> None:
    response = client.post("/api/v1/rules/lint/?output=xml", "a: 1", content_type="text/yaml")
    assert response.status_code == 400
    assert "output" in response.json()["error"]["fields"]


def test_unsupported_media_type_is_a_json_415(client: Client) -> None:
    response = client.post("/api/v1/rules/lint/", "{}", content_type="application/json")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_forecast_without_prometheus_is_a_400(client: Client, settings: object) -> None:
    settings.PROMETHEUS_URL = ""  # type: ignore[attr-defined]
    response = client.post("/api/v1/rules/lint/?forecast=1", "a: 1", content_type="text/yaml")
    assert response.status_code == 400


def test_anonymous_and_ingest_are_refused(catalog: None) -> None:
    assert Client().post("/api/v1/rules/lint/", "a", content_type="text/yaml").status_code == 401
    ingest = token_client("ingest")
    assert ingest.post("/api/v1/rules/lint/", "a", content_type="text/yaml").status_code == 403
