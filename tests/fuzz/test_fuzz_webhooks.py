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
from tests.fuzz.strategies import DEEP, RAW_BODIES, budget, encode, hostile_text, mutated, query

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
    # `?system=` names the AI system for the drift sources (README "Other sources"). generic():
    # post() would re-encode the bytes for a `charset=` other than UTF-8 (and fail on them).
    return Client().generic(
        "POST",
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
    # Stored as sent, but for what no database column can hold: undecodable bytes and NUL are
    # logged as U+FFFD (alerts/ingest/services.py, the rejected-delivery log).
    assert delivery.body == body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
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


def _alert_shaped(source: str, change: Any) -> dict[str, Any]:
    payload = _example(source)
    alert = payload["alerts"][0]
    alert.pop("fingerprint", None)
    change(payload, alert)
    return payload


# The shapes the hardening issue found (finding 8), always tried, whatever Hypothesis draws.
KNOWN_HOSTILE: dict[str, Any] = {
    "lone surrogate in a label": lambda p, a: a["labels"].update(model="\ud800"),
    "lone surrogate in a label name": lambda p, a: a["labels"].update({"\udfff": "x"}),
    "NUL in a label": lambda p, a: a["labels"].update(model="a\x00b"),
    "NUL in an annotation": lambda p, a: a.setdefault("annotations", {}).update(summary="\x00"),
    "startsAt year 1 with an offset": lambda p, a: a.update(startsAt="0001-01-01T00:00:00+01:00"),
    "startsAt year 9999 behind UTC": lambda p, a: a.update(startsAt="9999-12-31T23:59:59-01:00"),
    "endsAt year 9999 behind UTC": lambda p, a: a.update(
        status="resolved", endsAt="9999-12-31T23:59:59-01:00"
    ),
    "negative truncatedAlerts": lambda p, a: p.update(truncatedAlerts=-1),
    "huge truncatedAlerts": lambda p, a: p.update(truncatedAlerts=2**63),
    "nested labels": lambda p, a: a.update(labels=DEEP),
}


@pytest.mark.parametrize("source", ["alertmanager", "grafana", "generic"])
@pytest.mark.parametrize("case", sorted(KNOWN_HOSTILE))
def test_known_hostile_alerts_are_stored_whole_or_refused_whole(
    source: str, case: str, world: dict[str, Any]
) -> None:
    payload = _alert_shaped(source, KNOWN_HOSTILE[case])
    body = encode(payload)
    with fresh():
        response = _deliver(source, body, world["tokens"]["ingest"])
        _check(source, body, response, payload)
