"""Every error status of the webhook endpoints, and every token case."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.db import DataError, OperationalError, connection
from django.test import Client, override_settings

from alerts.models import Delivery, Episode
from alerts.signals import delivery_recorded
from tests.alerts.integrations.conftest import capture
from tokens.models import ApiToken
from tokens.services import token_create, token_revoke

Post = Callable[..., Any]
URL = "/api/v1/integrations/alertmanager/"


def _rejected(post: Post, payload: object, status: int, fragment: str, **extra: Any) -> None:
    response = post("alertmanager", payload, **extra)
    assert response.status_code == status, response.content
    assert fragment in response.json()["error"]
    assert Episode.objects.count() == 0
    delivery = Delivery.objects.get()
    assert delivery.outcome == "rejected"
    assert fragment in delivery.error


def test_malformed_json_is_400(post: Post) -> None:
    _rejected(post, '{"version": "4", ', 400, "not valid JSON")


def test_non_object_is_400(post: Post) -> None:
    _rejected(post, "[1, 2]", 400, "must be a JSON object")


def test_wrong_version_is_422(post: Post) -> None:
    payload = copy.deepcopy(capture()[0])
    payload["version"] = "3"
    _rejected(post, payload, 422, 'version must be "4"')


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (("alerts",), "nope", "body.alerts must be an array"),
        (("alerts", 0, "startsAt"), "yesterday", "body.alerts[0].startsAt must be an RFC 3339"),
        (("alerts", 0, "labels"), ["x"], "body.alerts[0].labels must be a JSON object"),
        (("alerts", 1, "status"), "pending", "body.alerts[1].status must be"),
        (("truncatedAlerts",), "3", "body.truncatedAlerts must be an integer"),
    ],
)
def test_mistyped_fields_are_422(
    post: Post, path: tuple[Any, ...], value: Any, fragment: str
) -> None:
    payload = copy.deepcopy(capture()[0])
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    _rejected(post, payload, 422, fragment)


def test_missing_field_is_422_and_half_valid_group_stores_nothing(post: Post) -> None:
    payload = copy.deepcopy(capture()[0])
    del payload["alerts"][1]["startsAt"]
    _rejected(post, payload, 422, "body.alerts[1].startsAt is required")


def test_wrong_content_type_is_415(post: Post) -> None:
    _rejected(post, json.dumps(capture()[0]), 415, "Content-Type", content_type="text/plain")


def test_missing_token_is_401(client: Client, db: None) -> None:
    response = client.post(URL, data=capture()[0], content_type="application/json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert Delivery.objects.count() == 0


def test_wrong_token_is_401(post: Post) -> None:
    response = post("alertmanager", capture()[0], token="stw_not-a-real-token")
    assert response.status_code == 401
    assert Episode.objects.count() == 0


def test_revoked_token_is_401(post: Post) -> None:
    token, raw = token_create(name="old", scope=ApiToken.Scope.INGEST)
    token_revoke(token=token)
    assert post("alertmanager", capture()[0], token=raw).status_code == 401


@pytest.mark.parametrize("scope", [ApiToken.Scope.READ, ApiToken.Scope.WRITE])
def test_token_without_ingest_scope_is_403(post: Post, scope: str) -> None:
    _, raw = token_create(name="reader", scope=scope)
    response = post("alertmanager", capture()[0], token=raw)
    assert response.status_code == 403
    assert "ingest" in response.json()["error"]


def test_basic_auth_with_token_as_password_is_accepted(client: Client, ingest_token: str) -> None:
    credentials = base64.b64encode(f"alertmanager:{ingest_token}".encode()).decode()
    response = client.post(
        URL,
        data=capture()[0],
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert token.last_used_at is not None
    assert Delivery.objects.get().token == token


def test_get_is_405(client: Client, ingest_token: str) -> None:
    response = client.get(URL, HTTP_AUTHORIZATION=f"Bearer {ingest_token}")
    assert response.status_code == 405


def test_unknown_source_is_404(post: Post) -> None:
    assert post("nagios", {}).status_code == 404


def _big_delivery(size: int) -> str:
    payload = copy.deepcopy(capture()[0])
    payload["alerts"][0]["annotations"]["description"] = "x" * size
    return json.dumps(payload)


def test_body_above_django_default_limit_is_accepted(post: Post) -> None:
    body = _big_delivery(3 * 1024 * 1024)  # Django's and DRF's default limit is 2.5 MiB
    response = post("alertmanager", body)
    assert response.status_code == 200
    assert len(Delivery.objects.get().body) == len(body)


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=64 * 1024)
def test_body_above_the_limit_is_413_json(post: Post) -> None:
    response = post("alertmanager", _big_delivery(128 * 1024))
    assert response.status_code == 413
    assert "larger" in response.json()["error"]


def test_database_unavailable_is_503_not_429(post: Post) -> None:
    recorded: list[Delivery] = []

    def listener(**kwargs: Any) -> None:
        recorded.append(kwargs["delivery"])

    delivery_recorded.connect(listener)
    try:
        with mock.patch(
            "alerts.ingest.catalog_cache.rule_candidates",
            side_effect=OperationalError("server closed"),
        ):
            response = post("alertmanager", capture()[0])
    finally:
        delivery_recorded.disconnect(listener)
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "unavailable" in response.json()["error"]
    assert Episode.objects.count() == 0 and Delivery.objects.count() == 0
    assert recorded[0].pk is None


def test_database_down_at_token_lookup_is_503(post: Post) -> None:
    with mock.patch("tokens.auth_cache.token_authenticate", side_effect=OperationalError("down")):
        assert post("alertmanager", capture()[0]).status_code == 503


def test_delivery_recorded_is_sent_for_accepted_and_rejected(post: Post) -> None:
    recorded: list[tuple[str, float]] = []

    def listener(**kwargs: Any) -> None:
        recorded.append((kwargs["delivery"].outcome, kwargs["duration_seconds"]))

    delivery_recorded.connect(listener)
    try:
        post("alertmanager", capture()[0])
        post("alertmanager", "[]")
    finally:
        delivery_recorded.disconnect(listener)
    assert [outcome for outcome, _ in recorded] == ["accepted", "rejected"]
    assert all(duration >= 0 for _, duration in recorded)


def test_overlong_alertname_is_422_on_every_database(post: Post) -> None:
    payload = copy.deepcopy(capture()[0])
    payload["alerts"][0]["labels"]["alertname"] = "A" * 201
    _rejected(post, payload, 422, "alertname is longer than 200")


def test_value_the_database_cannot_hold_is_422_not_retried(post: Post) -> None:
    writer = "delivery_write" if connection.vendor == "postgresql" else "episodes_upsert"
    with mock.patch(f"alerts.ingest.services.{writer}", side_effect=DataError("value too long")):
        _rejected(post, capture()[0], 422, "value too long")


def test_refused_tokens_are_reported_but_not_stored(client: Client, db: None) -> None:
    recorded: list[Delivery] = []

    def listener(**kwargs: Any) -> None:
        recorded.append(kwargs["delivery"])

    delivery_recorded.connect(listener)
    try:
        client.post(URL, data=capture()[0], content_type="application/json")
    finally:
        delivery_recorded.disconnect(listener)
    assert [(d.pk, d.outcome, d.error) for d in recorded] == [(None, "rejected", "Missing token.")]
    assert Delivery.objects.count() == 0
