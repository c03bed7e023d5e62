from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from prometheus_client import REGISTRY

from alerts.models import AlertRule, Delivery, Evaluation, RuleFlag
from alerts.signals import delivery_recorded, evaluation_finished
from core.weeks import current_week, week_shift


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def value(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


def scrape(client: Client, **extra: Any) -> str:
    response = client.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def test_delivery_signal_counts_deliveries_episodes_and_latency() -> None:
    before = sample("steward_deliveries_total", source="prometheus", outcome="accepted")
    opened = sample("steward_episodes_total", source="prometheus", change="opened")
    closed = sample("steward_episodes_total", source="prometheus", change="closed")
    latency = sample("steward_ingest_duration_seconds_count", source="prometheus")
    delivery = Delivery(
        pk=1,
        source="prometheus",
        outcome=Delivery.Outcome.ACCEPTED,
        alerts_count=3,
        opened_count=2,
        updated_count=0,
        closed_count=1,
    )
    delivery_recorded.send(sender=Delivery, delivery=delivery, duration_seconds=0.03)
    assert sample("steward_deliveries_total", source="prometheus", outcome="accepted") == before + 1
    assert sample("steward_episodes_total", source="prometheus", change="opened") == opened + 2
    assert sample("steward_episodes_total", source="prometheus", change="closed") == closed + 1
    assert sample("steward_ingest_duration_seconds_count", source="prometheus") == latency + 1


def test_unsaved_delivery_counts_as_error() -> None:
    before = sample("steward_deliveries_total", source="grafana", outcome="error")
    delivery = Delivery(source="grafana", outcome=Delivery.Outcome.ACCEPTED)
    delivery_recorded.send(sender=Delivery, delivery=delivery, duration_seconds=1.0)
    assert sample("steward_deliveries_total", source="grafana", outcome="error") == before + 1


def test_failed_evaluation_counts_a_failure_and_its_duration() -> None:
    failures = sample("steward_evaluation_failures_total")
    durations = sample("steward_evaluation_duration_seconds_count", status="failed")
    evaluation = Evaluation(week="2026-W47", status=Evaluation.Status.FAILED)
    evaluation_finished.send(sender=Evaluation, evaluation=evaluation, duration_seconds=4.2)
    assert sample("steward_evaluation_failures_total") == failures + 1
    assert sample("steward_evaluation_duration_seconds_count", status="failed") == durations + 1

    done = Evaluation(week="2026-W47", status=Evaluation.Status.DONE)
    evaluation_finished.send(sender=Evaluation, evaluation=done, duration_seconds=1.0)
    assert sample("steward_evaluation_failures_total") == failures + 1


@pytest.mark.django_db
def test_metrics_page_reports_backlog_age_and_flags_in_two_queries(
    client: Client, django_assert_num_queries: Any, frozen_now: datetime
) -> None:
    now = frozen_now  # the page counts this week's flags and ages from the clock
    Evaluation.objects.create(
        week="2026-W40", status="pending", requested_at=now - timedelta(0, 600)
    )
    Evaluation.objects.create(
        week="2026-W41", status="running", requested_at=now - timedelta(0, 60)
    )
    Evaluation.objects.create(
        week="2026-W39", status="done", requested_at=now - timedelta(0, 9000), finished_at=now
    )
    rules = [AlertRule.objects.create(alertname=f"Rule{i}") for i in range(3)]
    for rule in rules:
        RuleFlag.objects.create(rule=rule, week=current_week(), flag="noisy", message="x")
    RuleFlag.objects.create(rule=rules[0], week=current_week(), flag="no_runbook", message="x")
    RuleFlag.objects.create(rule=rules[1], week=week_shift(current_week(), -1), flag="stuck")

    with django_assert_num_queries(2):
        text = scrape(client)

    assert 600 <= value(text, "steward_evaluation_oldest_unprocessed_age_seconds") < 700
    assert 'steward_flagged_rules{flag="noisy"} 3.0' in text
    assert 'steward_flagged_rules{flag="no_runbook"} 1.0' in text
    assert 'steward_flagged_rules{flag="stuck"} 0.0' in text
    last_success = value(text, "steward_evaluation_last_success_timestamp_seconds")
    assert last_success == pytest.approx(now.timestamp(), abs=0.01)
    assert "steward_metrics_database_up 1.0" in text


@pytest.mark.django_db
def test_metrics_without_evaluations_reports_zero_backlog_and_no_last_run(client: Client) -> None:
    text = scrape(client)
    assert "steward_evaluation_oldest_unprocessed_age_seconds 0.0" in text
    assert "steward_evaluation_last_finished_timestamp_seconds" not in text


@pytest.mark.django_db
def test_metrics_default_to_loopback_only(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403


@pytest.mark.django_db
@override_settings(STEWARD_METRICS_TOKEN="s3cret-metrics-token")
def test_metrics_token_is_required_when_configured(client: Client) -> None:
    assert client.get("/metrics").status_code == 403
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    assert wrong.status_code == 403
    right = client.get(
        "/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token"
    )
    assert right.status_code == 200


@pytest.mark.django_db
@override_settings(STEWARD_METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"])
def test_metrics_allowed_networks_admit_by_peer_address_not_forwarded_header(
    client: Client,
) -> None:
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    forged = client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert forged.status_code == 403


@pytest.mark.django_db
@override_settings(
    STEWARD_METRICS_ALLOWED_NETWORKS=["10.0.0.0/8"], STEWARD_METRICS_TOKEN="tok-metrics"
)
def test_metrics_token_or_network_either_admits(client: Client) -> None:
    assert client.get("/metrics", REMOTE_ADDR="10.9.9.9").status_code == 200
    token = client.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION="Bearer tok-metrics")
    assert token.status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.0.2.1").status_code == 403


def test_http_responses_are_counted_by_status(client: Client) -> None:
    before = sample("steward_http_responses_total", method="GET", status="404")
    client.get("/healthz/nope-this-does-not-exist")
    assert sample("steward_http_responses_total", method="GET", status="404") == before + 1


def test_a_crashing_view_counts_as_500(client: Client) -> None:
    from unittest import mock

    before = sample("steward_http_responses_total", method="GET", status="500")
    client.raise_request_exception = False
    with mock.patch("ops.views.render_metrics", side_effect=RuntimeError("boom")):
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 500
    assert sample("steward_http_responses_total", method="GET", status="500") == before + 1
