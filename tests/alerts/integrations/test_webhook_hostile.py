"""Values a webhook cannot store (issue 17, findings 8 and 9): each answers a 4xx naming the
field, and the delivery is logged as rejected (so the sender stops retrying and the operator
sees why). Run on both SQLite and PostgreSQL: PostgreSQL refuses NUL in text and jsonb."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from alerts.models import Delivery, Episode
from core import limits
from tests.alerts.integrations.conftest import capture

Post = Callable[..., Any]


def _rejected(post: Post, body: object, status: int, fragment: str, source: str = "") -> str:
    response = post(source or "alertmanager", body)
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert fragment in error
    assert Episode.objects.count() == 0
    delivery = Delivery.objects.get()
    assert delivery.outcome == "rejected"
    assert delivery.error == error
    return str(error)


@pytest.mark.parametrize("source", ["alertmanager", "grafana", "generic", "datadog"])
def test_json_nested_1000_deep_is_400_naming_the_limit(post: Post, source: str) -> None:
    body = '{"alerts": ' + "[" * 1000 + "]" * 1000 + "}"
    _rejected(post, body, 400, f"nested more than {limits.JSON_MAX_DEPTH} levels", source)


def test_lone_surrogate_in_a_label_without_fingerprint_is_422(post: Post) -> None:
    payload = copy.deepcopy(capture()[0])
    alert = payload["alerts"][0]
    alert.pop("fingerprint", None)
    alert["labels"]["model"] = "fraud\ud800"
    body = json.dumps(payload)  # ASCII: the surrogate travels as the escape \ud800
    _rejected(post, body, 422, "body.alerts[0].labels.model contains a lone surrogate")


def test_escaped_nul_in_a_label_is_422_without_sql(post: Post) -> None:
    payload = copy.deepcopy(capture()[0])
    payload["alerts"][0]["labels"]["model"] = "fraud\x00scorer"
    error = _rejected(post, json.dumps(payload), 422, "labels.model contains a NUL character")
    assert "INSERT" not in error and "SELECT" not in error and "%s" not in error


def test_raw_nul_byte_in_the_body_is_400_and_logged(post: Post) -> None:
    body = json.dumps(capture()[0]).replace("fraud", "fr\x00aud", 1).encode()
    assert b"\x00" in body
    _rejected(post, body, 400, "not valid JSON")
    assert "\x00" not in Delivery.objects.get().body


def test_escaped_nul_in_a_key_is_422_and_the_message_escapes_it(post: Post) -> None:
    payload = copy.deepcopy(capture()[0])
    payload["alerts"][0]["labels"]["mo\x00del"] = "x"
    error = _rejected(post, json.dumps(payload), 422, "contains a NUL character")
    assert "\x00" not in error and "mo\\x00del" in error


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_starts_at_out_of_range_after_utc_conversion_is_422(post: Post, moment: str) -> None:
    payload = copy.deepcopy(capture()[0])
    payload["alerts"][0]["startsAt"] = moment
    _rejected(post, payload, 422, "body.alerts[0].startsAt is out of range")


def test_starts_at_in_a_year_without_weeks_is_422(post: Post) -> None:
    payload = copy.deepcopy(capture()[0])
    payload["alerts"][0]["startsAt"] = "9999-06-01T00:00:00Z"
    _rejected(post, payload, 422, "body.alerts[0].startsAt is out of range")


def test_zero_ends_at_still_means_no_end(post: Post) -> None:
    payload = copy.deepcopy(capture()[0])
    for alert in payload["alerts"]:
        alert["endsAt"] = "0001-01-01T00:00:00Z"
    assert post("alertmanager", payload).status_code == 200


@pytest.mark.parametrize("source", ["alertmanager", "grafana"])
def test_negative_truncated_alerts_is_422_not_503(post: Post, source: str) -> None:
    payload = copy.deepcopy(capture()[0])
    payload["truncatedAlerts"] = -1
    _rejected(post, payload, 422, "body.truncatedAlerts must not be negative", source)


def test_nul_in_a_webhook_query_parameter_is_422_and_logged(post: Post) -> None:
    run = {"tests": [{"name": "Drift", "status": "FAIL"}]}
    response = post("evidently", run, QUERY_STRING="system=fraud%00scorer")
    assert response.status_code == 422, response.content
    assert "?system contains a NUL character" in response.json()["error"]
    assert Delivery.objects.get().outcome == "rejected"
    assert Episode.objects.count() == 0
