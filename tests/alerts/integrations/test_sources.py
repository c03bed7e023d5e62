"""Grafana, Datadog, WhyLabs, Evidently and generic payloads, shaped like their documentation."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.integrations.grafana.adapter import signature
from alerts.models import AlertRule, Delivery, Episode
from fleet.models import AISystem
from tests.alerts.integrations.conftest import FIXTURES, capture
from tokens.models import ApiToken, Integration
from tokens.services import token_create

Post = Callable[..., Any]


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "sources" / name).read_text())


# --- Grafana -----------------------------------------------------------------------------


def test_grafana_webhook_opens_episodes_with_alertmanager_fingerprints(post: Post) -> None:
    payload = _fixture("grafana.json")
    assert post("grafana", payload).json()["opened"] == 2
    memory = Episode.objects.get(labels__alertname="High memory usage")
    assert memory.fingerprint == fingerprint(payload["alerts"][0]["labels"])
    assert memory.source == "grafana"
    assert memory.starts_at == datetime(2021, 10, 12, 7, 51, 3, 157076, tzinfo=UTC)
    assert memory.generator_url == "https://play.grafana.org/alerting/1afz29v7z/edit"
    assert AlertRule.objects.get(alertname="High CPU usage").source == "grafana"


def test_grafana_resolve_closes_the_episode(post: Post) -> None:
    payload = _fixture("grafana.json")
    post("grafana", payload)
    resolved = copy.deepcopy(payload)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2021-10-12T10:10:00+02:00"
    assert post("grafana", resolved).json()["closed"] == 2
    assert Episode.objects.open().count() == 0


@pytest.fixture
def signed_token(db: None) -> str:
    integration = Integration.objects.create(
        name="grafana-prod", source="grafana", signing_secret="s3cret"
    )
    _, raw = token_create(name="grafana", scope=ApiToken.Scope.INGEST, integration=integration)
    return raw


def test_grafana_signature_is_verified(post: Post, signed_token: str) -> None:
    body = json.dumps(_fixture("grafana.json")).encode()
    good = signature("s3cret", body, "1700000000")
    response = post(
        "grafana",
        body,
        token=signed_token,
        HTTP_X_GRAFANA_ALERT_SIGNATURE=good,
        HTTP_X_GRAFANA_ALERT_TIMESTAMP="1700000000",
    )
    assert response.status_code == 200
    assert Delivery.objects.get().integration.name == "grafana-prod"


@pytest.mark.parametrize("header", [None, "0" * 64])
def test_grafana_bad_or_missing_signature_is_401(
    post: Post, signed_token: str, header: str | None
) -> None:
    extra = {} if header is None else {"HTTP_X_GRAFANA_ALERT_SIGNATURE": header}
    response = post("grafana", _fixture("grafana.json"), token=signed_token, **extra)
    assert response.status_code == 401
    assert "Signature" in response.json()["error"]
    assert Episode.objects.count() == 0


# --- Datadog -----------------------------------------------------------------------------


def _datadog(transition: str, date_ms: int, alert_type: str = "error") -> dict[str, str]:
    """The payload template of README.md, "Other sources" with Datadog's variables filled in."""
    return {
        "id": "7328112658219483311",
        "alert_id": "1234",
        "alert_cycle_key": "7328112658219483000",
        "alert_title": f"[{transition} on {{host:ip-10-0-0-1}}] Fraud scorer p99 latency",
        "alert_transition": transition,
        "alert_type": alert_type,
        "alert_priority": "P1",
        "alert_scope": "host:ip-10-0-0-1",
        "alert_query": "avg(last_5m):p99:fraud.latency{*} by {host} > 0.5",
        "date": str(date_ms),
        "tags": "env:prod,model:fraud-scorer,team:fraud-ml,monitor",
        "link": "https://app.datadoghq.com/event/event?id=7328112658219483311",
        "event_msg": "p99 latency is 0.8 s",
    }


def test_datadog_trigger_renotify_and_recovery_make_one_episode(post: Post) -> None:
    AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer")
    assert post("datadog", _datadog("Triggered", 1764064800000)).json()["opened"] == 1
    assert post("datadog", _datadog("Re-Triggered", 1764065400000)).json()["duplicates"] == 1
    closed = post("datadog", _datadog("Recovered", 1764066000000, "success")).json()
    assert closed["closed"] == 1
    episode = Episode.objects.get()
    assert episode.labels["alertname"] == "Fraud scorer p99 latency"
    assert episode.labels["host"] == "ip-10-0-0-1"
    assert episode.system is not None and episode.system.slug == "fraud-scorer"
    assert episode.starts_at == datetime(2025, 11, 25, 10, 0, tzinfo=UTC)
    assert episode.ends_at == datetime(2025, 11, 25, 10, 20, tzinfo=UTC)
    assert episode.notification_count == 3
    # the next trigger is a new episode of the same fingerprint
    post("datadog", _datadog("Triggered", 1764069600000))
    assert Episode.objects.count() == 2


def test_datadog_recovery_with_nothing_open_stores_no_episode(post: Post) -> None:
    response = post("datadog", _datadog("Recovered", 1764066000000, "success"))
    assert response.status_code == 200
    assert Episode.objects.count() == 0


def test_datadog_unfilled_date_is_422(post: Post) -> None:
    payload = _datadog("Triggered", 0)
    payload["date"] = "$DATE"
    response = post("datadog", payload)
    assert response.status_code == 422
    assert "body.date" in response.json()["error"]


# --- WhyLabs -----------------------------------------------------------------------------


def test_whylabs_digest_records_closed_ml_episodes_per_feature(post: Post) -> None:
    system = AISystem.objects.create(slug="recommender-v7", name="Recommender")
    response = post(
        "whylabs", _fixture("whylabs-digest.json"), QUERY_STRING="system=recommender-v7"
    )
    assert response.json()["opened"] == 2
    episodes = {e.labels["feature"]: e for e in Episode.objects.all()}
    assert set(episodes) == {"user_age", "country"}
    assert all(e.system == system and e.ends_at is not None for e in episodes.values())
    assert episodes["user_age"].starts_at == datetime(2025, 11, 24, tzinfo=UTC)
    assert episodes["user_age"].ends_at == datetime(2025, 11, 25, tzinfo=UTC)
    rule = AlertRule.objects.get()
    assert rule.layer == "ml" and rule.catalogued is False and rule.severity == "warning"
    # WhyLabs re-sends the same digest: nothing new
    again = post("whylabs", _fixture("whylabs-digest.json"), QUERY_STRING="system=recommender-v7")
    assert again.json()["duplicates"] == 2


def test_whylabs_every_anomaly_mode(post: Post) -> None:
    payload = {
        "id": "n-1",
        "mode": "EVERY_ANOMALY",
        "severity": 1,
        "analyzerResult": {
            "orgId": "org-0",
            "datasetId": "model-7",
            "monitorIds": ["null-ratio-monitor"],
            "column": "country",
            "analyzerType": "fixed",
            "datasetTimestamp": 1764028800000,
        },
    }
    assert post("whylabs", payload).json()["opened"] == 1
    episode = Episode.objects.get()
    assert episode.labels["system"] == "model-7"
    assert episode.labels["severity"] == "critical"


def test_whylabs_unknown_mode_is_422(post: Post) -> None:
    response = post("whylabs", {"mode": "SOMETIMES", "datasetId": "m", "monitorId": "x"})
    assert response.status_code == 422


# --- Evidently ---------------------------------------------------------------------------


def test_evidently_failed_test_fires_until_a_passing_run(post: Post) -> None:
    run = _fixture("evidently-test-suite.json")
    first = post("evidently", run, QUERY_STRING="system=fraud-scorer").json()
    assert first["opened"] == 1  # the passing test has nothing open to resolve
    episode = Episode.objects.get()
    assert episode.labels == {
        "alertname": "Share of Drifted Columns",
        "system": "fraud-scorer",
        "layer": "ml",
        "test_group": "data_drift",
    }
    assert episode.is_firing
    assert AlertRule.objects.get().layer == "ml"
    still_failing = copy.deepcopy(run)
    still_failing["timestamp"] = "2026-11-25T11:00:00"
    assert (
        post("evidently", still_failing, QUERY_STRING="system=fraud-scorer").json()["duplicates"]
        == 1
    )
    passing = copy.deepcopy(run)
    passing["timestamp"] = "2026-11-25T12:00:00"
    passing["tests"][0]["status"] = "SUCCESS"
    assert post("evidently", passing, QUERY_STRING="system=fraud-scorer").json()["closed"] == 1
    episode.refresh_from_db()
    assert episode.ends_at == datetime(2026, 11, 25, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2024-05-02T10:00:00-05:00", datetime(2024, 5, 2, 15, 0, tzinfo=UTC)),
        ("2024-05-02T10:00:00+02:00", datetime(2024, 5, 2, 8, 0, tzinfo=UTC)),
        ("2024-05-02T10:00:00Z", datetime(2024, 5, 2, 10, 0, tzinfo=UTC)),
        ("2024-05-02T10:00:00.123456", datetime(2024, 5, 2, 10, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_evidently_timestamp_takes_rfc_3339_offsets_and_naive_utc(
    post: Post, moment: str, expected: datetime
) -> None:
    run = {"timestamp": moment, "tests": [{"name": "Drift", "status": "FAIL"}]}
    response = post("evidently", run, QUERY_STRING="system=fraud-scorer")
    assert response.status_code == 200, response.content
    assert Episode.objects.get().starts_at == expected


def test_evidently_without_system_is_422(post: Post) -> None:
    response = post("evidently", _fixture("evidently-test-suite.json"))
    assert response.status_code == 422
    assert "system" in response.json()["error"]


# --- generic -----------------------------------------------------------------------------


def test_generic_shape_with_and_without_start(post: Post) -> None:
    payload = {
        "alerts": [
            {
                "labels": {"alertname": "QueueBacklog", "system": "feature-store"},
                "annotations": {"summary": "backlog"},
                "startsAt": "2026-11-25T10:00:00Z",
            },
            {"alertname": "NightlyJobFailed", "labels": {"job": "etl"}},
        ]
    }
    assert post("generic", payload).json()["opened"] == 2
    resolve = {
        "alerts": [
            {"alertname": "NightlyJobFailed", "labels": {"job": "etl"}, "status": "resolved"}
        ]
    }
    assert post("generic", resolve).json()["closed"] == 1
    backlog = Episode.objects.get(labels__alertname="QueueBacklog")
    assert backlog.fingerprint == fingerprint(backlog.labels)
    assert backlog.is_firing


def test_generic_missing_alertname_is_422(post: Post) -> None:
    response = post("generic", {"alerts": [{"labels": {"job": "etl"}}]})
    assert response.status_code == 422
    assert "alertname" in response.json()["error"]


# --- A token bound to an integration posts only to its source ------------------------------

VALID: dict[str, Any] = {
    "alertmanager": capture()[0],
    "generic": {"alerts": [{"alertname": "NightlyJobFailed", "labels": {"job": "etl"}}]},
}


@pytest.mark.parametrize("endpoint", ["alertmanager", "generic"])
def test_a_signed_grafana_token_cannot_skip_its_signature_elsewhere(
    post: Post, signed_token: str, endpoint: str
) -> None:
    """The issue's finding 4: the same token posted unsigned to another endpoint was accepted."""
    response = post(endpoint, VALID[endpoint], token=signed_token)
    assert response.status_code == 403
    assert "grafana-prod" in response.json()["error"]
    assert "/api/v1/integrations/grafana/" in response.json()["error"]
    assert Episode.objects.count() == 0


def test_an_integration_token_still_posts_to_its_own_source(post: Post) -> None:
    integration = Integration.objects.create(name="prod alertmanager", source="prometheus")
    _, raw = token_create(name="am", scope=ApiToken.Scope.INGEST, integration=integration)
    response = post("alertmanager", VALID["alertmanager"], token=raw)
    assert response.status_code == 200, response.content
    assert post("grafana", _fixture("grafana.json"), token=raw).status_code == 403
