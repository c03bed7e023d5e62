"""Every webhook source under hostile payloads: never a 5xx, never half-stored.

A payload is each source's documented example (alerts/integrations/examples/) with values
replaced by hostile ones, or a raw body no encoder would write. Whatever the answer:

- 2xx: exactly one accepted Delivery holding the body as sent, with one Episode per opened
  alert, and (for the Alertmanager-shaped sources) every stored label set one that was sent;
- 4xx: no Episode, exactly one rejected Delivery holding the body and naming the problem.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.integrations.registry import SOURCES
from alerts.models import Delivery, Episode
from tests.fuzz.conftest import fresh
from tests.fuzz.strategies import RAW_BODIES, budget, encode, hostile_text, mutated, query

EXAMPLES = Path(__file__).resolve().parents[2] / "alerts" / "integrations" / "examples"
# Sources whose alerts carry their labels verbatim (the others derive them from tags/columns).
VERBATIM_LABELS = {"alertmanager", "grafana"}


def _example(source: str) -> dict[str, Any]:
    return json.loads((EXAMPLES / f"{source}.json").read_text())


def _deliver(
    source: str,
    body: bytes,
    token: str,
    content_type: str = "application/json",
    system: str = "fraud-scorer",
) -> Any:
    # `?system=` names the AI system for the drift sources (README "Other sources").
    return Client().post(
        f"/api/v1/integrations/{source}/?{query({'system': system})}",
        data=body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def _sent_label_sets(payload: Any) -> list[Any]:
    alerts = payload.get("alerts") if isinstance(payload, dict) else None
    if not isinstance(alerts, list):
        return []
    return [alert.get("labels") for alert in alerts if isinstance(alert, dict)]


def _check(source: str, body: bytes, response: Any, payload: Any = None) -> None:
    """The invariants of the module docstring, on a database that was empty of deliveries."""
    assert response.status_code < 500, (response.status_code, response.content[:500])
    deliveries = list(Delivery.objects.all())
    assert len(deliveries) == 1, f"{len(deliveries)} deliveries logged for one request"
    delivery = deliveries[0]
    assert delivery.body == body.decode("utf-8", errors="replace")
    if response.status_code >= 400:
        assert Episode.objects.count() == 0, "a rejected delivery stored episodes"
        assert delivery.outcome == Delivery.Outcome.REJECTED
        assert delivery.error
        assert response.json()["error"] == delivery.error
        return
    answer = response.json()
    assert delivery.outcome == Delivery.Outcome.ACCEPTED
    assert Episode.objects.count() == answer["opened"]
    assert delivery.alerts_count == answer["alerts"]
    if source in VERBATIM_LABELS and payload is not None:
        sent = _sent_label_sets(payload)
        assert len(sent) == answer["alerts"]
        for labels in Episode.objects.values_list("labels", flat=True):
            assert labels in sent, f"stored labels {labels!r} were never sent"


@pytest.mark.parametrize("source", sorted(SOURCES))
@settings(max_examples=budget(40))
@given(data=st.data())
def test_hostile_payloads_are_stored_whole_or_refused_whole(
    source: str, world: dict[str, Any], data: st.DataObject
) -> None:
    payload = data.draw(mutated(_example(source)), label="payload")
    system = data.draw(st.one_of(st.just("fraud-scorer"), hostile_text()), label="system")
    body = encode(payload)
    with fresh():
        response = _deliver(source, body, world["tokens"]["ingest"], system=system)
        _check(source, body, response, payload)


@pytest.mark.parametrize("source", sorted(SOURCES))
@settings(max_examples=budget(len(RAW_BODIES) * 2))
@given(
    name=st.sampled_from(sorted(RAW_BODIES)),
    content_type=st.sampled_from(
        ["application/json", "application/json; charset=latin-1", "text/plain", "a/b+json"]
    ),
)
def test_raw_bodies_are_refused_whole(
    source: str, world: dict[str, Any], name: str, content_type: str
) -> None:
    body = RAW_BODIES[name]
    with fresh():
        response = _deliver(source, body, world["tokens"]["ingest"], content_type)
        _check(source, body, response)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_the_unmutated_examples_are_stored(source: str, world: dict[str, Any]) -> None:
    """The control: the invariants hold for the documented payload, which is accepted."""
    payload = _example(source)
    body = encode(payload)
    with fresh():
        response = _deliver(source, body, world["tokens"]["ingest"])
        assert response.status_code == 200, response.content
        _check(source, body, response, payload)
