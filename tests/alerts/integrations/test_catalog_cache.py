"""Rules and AI systems remembered per process by the webhooks (alerts/ingest/catalog_cache.py):
what a change does to the next delivery, and that the one-statement write of PostgreSQL stores
the same counts the answer gives."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from alerts.ingest.catalog_cache import cached_rule_candidates
from alerts.models import AlertRule, Delivery, Episode
from alerts.models.catalog import matchers_key
from fleet.models import AISystem
from tests.alerts.integrations.conftest import capture

Post = Callable[..., Any]


def _firing(start: str, *, alertname: str = "ModelLatencyHigh") -> dict[str, Any]:
    """The capture's first delivery (fraud-scorer and recommender-v7), as new firings."""
    delivery = copy.deepcopy(capture()[0])
    for alert in delivery["alerts"]:
        alert["startsAt"] = start
        alert["labels"]["alertname"] = alertname
    return delivery


def _episode(model: str, start: str) -> Episode:
    return Episode.objects.get(labels__model=model, starts_at=start)


@pytest.mark.django_db
def test_a_rule_created_is_matched_by_the_next_delivery(post: Post) -> None:
    post("alertmanager", _firing("2026-11-25T10:00:00Z"))  # creates the catch-all
    post("alertmanager", _firing("2026-11-25T10:05:00Z"))  # remembered from here on
    catch_all = AlertRule.objects.get(alertname="ModelLatencyHigh")
    assert _episode("fraud-scorer", "2026-11-25T10:05:00Z").rule == catch_all

    fraud = AlertRule.objects.create(
        alertname="ModelLatencyHigh", matchers={"model": "fraud-scorer"}
    )
    post("alertmanager", _firing("2026-11-25T10:10:00Z"))
    assert _episode("fraud-scorer", "2026-11-25T10:10:00Z").rule == fraud
    assert _episode("recommender-v7", "2026-11-25T10:10:00Z").rule == catch_all

    # Edited: its matchers no longer hold for fraud-scorer.
    fraud.matchers = {"model": "someone-else"}
    fraud.save()
    post("alertmanager", _firing("2026-11-25T10:15:00Z"))
    assert _episode("fraud-scorer", "2026-11-25T10:15:00Z").rule == catch_all

    # An AI system created: the next delivery's episodes name it.
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer")
    post("alertmanager", _firing("2026-11-25T10:20:00Z"))
    assert _episode("fraud-scorer", "2026-11-25T10:20:00Z").system == system

    # Deleted: the next delivery goes back to the catch-all.
    fraud.delete()
    post("alertmanager", _firing("2026-11-25T10:25:00Z"))
    assert _episode("fraud-scorer", "2026-11-25T10:25:00Z").rule == catch_all


@pytest.mark.django_db(transaction=True)
def test_a_rule_deleted_by_another_process_costs_one_retry_not_the_delivery(post: Post) -> None:
    gone = AlertRule.objects.create(alertname="Vanishing")
    assert cached_rule_candidates(["Vanishing"])[0]["Vanishing"] == [gone]  # remembered
    # Another process deletes it: no signal reaches this one.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM alerts_alertrule WHERE id = %s", [gone.pk])
    response = post("alertmanager", _firing("2026-11-25T11:00:00Z", alertname="Vanishing"))
    assert response.status_code == 200, response.content
    rule = AlertRule.objects.get(alertname="Vanishing")
    assert rule.pk != gone.pk and rule.catalogued is False
    assert set(Episode.objects.values_list("rule_id", flat=True)) == {rule.pk}
    assert Delivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_rule_created_by_another_process_is_not_duplicated(post: Post) -> None:
    post("alertmanager", _firing("2026-11-25T12:00:00Z"))
    post("alertmanager", _firing("2026-11-25T12:05:00Z"))  # ModelLatencyHigh remembered
    # Another process adds a rule with matchers; this one still remembers only the catch-all,
    # so fraud-scorer goes to the catch-all until the memory expires, and nothing is created.
    # (bulk_create sends no signal, as a save in another process reaches none here.)
    AlertRule.objects.bulk_create(
        [
            AlertRule(
                alertname="ModelLatencyHigh",
                matchers={"model": "fraud-scorer"},
                matchers_key=matchers_key({"model": "fraud-scorer"}),
            )
        ]
    )
    post("alertmanager", _firing("2026-11-25T12:10:00Z"))
    assert AlertRule.objects.filter(alertname="ModelLatencyHigh").count() == 2
    catch_all = AlertRule.objects.get(alertname="ModelLatencyHigh", matchers={})
    assert _episode("fraud-scorer", "2026-11-25T12:10:00Z").rule == catch_all


@pytest.mark.django_db
def test_the_stored_counts_are_the_answered_counts(post: Post) -> None:
    """Every kind of delivery (new firings, re-sends, resolves, a resolve arriving first, an
    earlier and a later resolve, a firing after its resolve, repeats inside one delivery): the
    delivery row holds what the answer says (on PostgreSQL the statement counts them itself)."""
    deliveries = capture()
    later = copy.deepcopy(deliveries[2])
    earlier = copy.deepcopy(deliveries[2])
    for alert in later["alerts"]:
        alert["endsAt"] = "2026-11-25T22:40:00Z"
    for alert in earlier["alerts"]:
        alert["endsAt"] = "2026-11-25T22:34:25Z"
    repeated = copy.deepcopy(deliveries[0])
    repeated["alerts"] = repeated["alerts"] * 2
    mixed = copy.deepcopy(deliveries[3]) if len(deliveries) > 3 else copy.deepcopy(deliveries[1])
    mixed["alerts"] += copy.deepcopy(deliveries[0]["alerts"])
    sequence = [
        deliveries[2],  # resolve first: opened and closed
        deliveries[0],  # the firing after its resolve: duplicates
        deliveries[1],  # new
        repeated,
        *deliveries,
        later,  # a later resolve: duplicates
        earlier,  # an earlier resolve: updated
        mixed,
    ]
    kinds = set()
    for body in sequence:
        answer = post("alertmanager", body).json()
        stored = Delivery.objects.get(pk=answer["delivery"])
        counts = (stored.opened_count, stored.updated_count)
        counts += (stored.closed_count, stored.duplicate_count)
        assert counts == (
            answer["opened"],
            answer["updated"],
            answer["closed"],
            answer["duplicates"],
        ), body
        kinds.update(k for k in ("opened", "updated", "closed", "duplicates") if answer[k])
    assert kinds == {"opened", "updated", "closed", "duplicates"}
