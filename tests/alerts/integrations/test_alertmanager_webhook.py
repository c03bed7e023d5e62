"""The Alertmanager webhook replays real captured deliveries and checks every rule of behaviour."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.models import AlertRule, Delivery, Episode
from alerts.signals import episodes_changed
from fleet.models import AISystem
from tests.alerts.integrations.conftest import capture

Post = Callable[..., Any]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_capture_replay_stores_what_alertmanager_sent(post: Post) -> None:
    for delivery in capture():
        response = post("alertmanager", delivery)
        assert response.status_code == 200, response.content
    # fraud-scorer and recommender-v7 fired three times, resolved twice; drift fired once.
    assert Episode.objects.count() == 7
    for delivery in capture():
        for alert in delivery["alerts"]:
            episode = Episode.objects.get(
                fingerprint=alert["fingerprint"], starts_at=_at(alert["startsAt"])
            )
            assert episode.labels == alert["labels"]
            if alert["status"] == "resolved":
                assert episode.ends_at == _at(alert["endsAt"])
    assert Episode.objects.open().count() == 3
    assert Delivery.objects.filter(outcome="accepted").count() == 6


def test_first_delivery_answers_counts(post: Post) -> None:
    body = post("alertmanager", capture()[0]).json()
    assert body == {
        "status": "ok",
        "delivery": Delivery.objects.get().pk,
        "alerts": 2,
        "opened": 2,
        "updated": 0,
        "closed": 0,
        "duplicates": 0,
        "truncated": 0,
    }


def test_duplicate_delivery_keeps_one_episode_and_bumps_counters(post: Post) -> None:
    first = capture()[0]
    post("alertmanager", first)
    second = post("alertmanager", first).json()
    assert second["opened"] == 0 and second["duplicates"] == 2
    assert Episode.objects.count() == 2
    assert set(Episode.objects.values_list("notification_count", flat=True)) == {2}
    assert Delivery.objects.get(pk=second["delivery"]).duplicate_count == 2


def test_resolve_before_firing_leaves_one_closed_episode(post: Post) -> None:
    deliveries = capture()
    resolved = post("alertmanager", deliveries[2]).json()
    assert resolved["opened"] == 2 and resolved["closed"] == 2
    late_firing = post("alertmanager", deliveries[0]).json()
    assert late_firing["duplicates"] == 2
    assert Episode.objects.count() == 2
    assert Episode.objects.open().count() == 0  # the late firing must not reopen it


def test_resolve_twice_keeps_the_earliest_end(post: Post) -> None:
    deliveries = capture()
    post("alertmanager", deliveries[0])
    post("alertmanager", deliveries[2])
    later = copy.deepcopy(deliveries[2])
    for alert in later["alerts"]:
        alert["endsAt"] = "2026-11-25T22:40:00Z"
    assert post("alertmanager", later).json()["duplicates"] == 2
    earliest = _at(deliveries[2]["alerts"][0]["endsAt"])
    assert set(Episode.objects.values_list("ends_at", flat=True)) == {earliest}
    earlier = copy.deepcopy(deliveries[2])
    for alert in earlier["alerts"]:
        alert["endsAt"] = "2026-11-25T22:34:25Z"
    assert post("alertmanager", earlier).json()["updated"] == 2
    assert set(Episode.objects.values_list("ends_at", flat=True)) == {_at("2026-11-25T22:34:25Z")}


def test_firing_with_future_ends_at_is_open(post: Post) -> None:
    delivery = copy.deepcopy(capture()[0])
    for alert in delivery["alerts"]:
        alert["endsAt"] = "2099-01-01T00:00:00Z"  # resolve_timeout from some senders
    post("alertmanager", delivery)
    assert Episode.objects.open().count() == 2


def test_unknown_alertname_creates_uncatalogued_unowned_rule(post: Post) -> None:
    post("alertmanager", capture()[1])
    rule = AlertRule.objects.get(alertname="FeatureDriftHigh")
    assert rule.catalogued is False
    assert rule.owner_team is None
    assert rule.source == "prometheus"
    assert rule.severity == "ticket"
    assert rule.last_fired_at == _at("2026-11-25T22:34:23.772Z")


def test_rule_matchers_pick_the_most_specific_rule(post: Post) -> None:
    catch_all = AlertRule.objects.create(alertname="ModelLatencyHigh")
    fraud = AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "fraud-scorer"}
    )
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer")
    post("alertmanager", capture()[0])
    by_model = {e.labels["model"]: e for e in Episode.objects.all()}
    assert by_model["fraud-scorer"].rule == fraud
    assert by_model["fraud-scorer"].system == system
    assert by_model["recommender-v7"].rule == catch_all
    assert by_model["recommender-v7"].system is None
    assert AlertRule.objects.count() == 2


def test_unknown_fields_are_accepted(post: Post) -> None:
    delivery = copy.deepcopy(capture()[0])
    delivery["somethingNew"] = {"nested": [1, 2]}
    delivery["alerts"][0]["extra"] = True
    assert post("alertmanager", delivery).status_code == 200


def test_truncated_alerts_and_raw_body_are_stored(post: Post) -> None:
    delivery = copy.deepcopy(capture()[0])
    delivery["truncatedAlerts"] = 7
    raw = json.dumps(delivery)
    assert post("alertmanager", raw).json()["truncated"] == 7
    stored = Delivery.objects.get()
    assert stored.truncated_alerts == 7
    assert stored.body == raw
    assert stored.group_key == delivery["groupKey"]


def test_episodes_changed_is_sent_on_commit_with_weeks(
    post: Post, django_capture_on_commit_callbacks: Any
) -> None:
    received: list[list[str]] = []

    def listener(**kwargs: Any) -> None:
        received.append(kwargs["weeks"])

    episodes_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            post("alertmanager", capture()[0])
        with django_capture_on_commit_callbacks(execute=True):
            post("alertmanager", capture()[0])  # a duplicate changes no week
    finally:
        episodes_changed.disconnect(listener)
    assert received == [["2026-W48"]]


def test_missing_fingerprint_is_computed(post: Post) -> None:
    delivery = copy.deepcopy(capture()[0])
    expected = {a["fingerprint"] for a in delivery["alerts"]}
    for alert in delivery["alerts"]:
        del alert["fingerprint"]
    post("alertmanager", delivery)
    assert set(Episode.objects.values_list("fingerprint", flat=True)) == expected


def test_ingest_uses_a_constant_number_of_queries(
    post: Post, django_assert_max_num_queries: Any
) -> None:
    delivery = copy.deepcopy(capture()[0])
    template = delivery["alerts"][0]
    delivery["alerts"] = []
    for i in range(50):
        alert = copy.deepcopy(template)
        alert["labels"]["instance"] = f"pod-{i}"
        alert.pop("fingerprint")
        delivery["alerts"].append(alert)
    post("alertmanager", delivery)  # creates the rule
    delivery["alerts"][0]["labels"]["instance"] = "pod-new"
    # token, rules, systems, existing, savepoint/begin, delivery, upsert, commit
    with django_assert_max_num_queries(9):
        assert post("alertmanager", delivery).status_code == 200
    assert Episode.objects.count() == 51


@pytest.mark.parametrize("count", [1, 1200])
def test_large_groups_are_chunked(post: Post, count: int) -> None:
    delivery = copy.deepcopy(capture()[0])
    template = delivery["alerts"][0]
    delivery["alerts"] = []
    for i in range(count):
        alert = copy.deepcopy(template)
        alert["labels"]["instance"] = f"pod-{i}"
        alert.pop("fingerprint")
        delivery["alerts"].append(alert)
    assert post("alertmanager", delivery).json()["opened"] == count
    assert Episode.objects.count() == count
