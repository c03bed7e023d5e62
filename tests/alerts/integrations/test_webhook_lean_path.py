"""The webhooks' lean path (issue 18): a constant, short list of statements per delivery, no
page middleware, and every guarantee of the full chain kept (auth, size limit, 503, headers)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from alerts.models import Delivery, Episode
from tests.alerts.integrations.conftest import capture
from tokens.models import ApiToken
from tokens.services import token_create, token_revoke

Post = Callable[..., Any]
pytestmark = pytest.mark.django_db


def _delivery(alerts: int, *, tag: str) -> dict[str, Any]:
    delivery = copy.deepcopy(capture()[0])
    template = delivery["alerts"][0]
    delivery["alerts"] = []
    for i in range(alerts):
        alert = copy.deepcopy(template)
        alert["labels"]["instance"] = f"{tag}-{i}"
        alert.pop("fingerprint")
        delivery["alerts"].append(alert)
    return delivery


def _statements(post: Post, delivery: dict[str, Any]) -> list[str]:
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as queries:
        assert post("alertmanager", delivery).status_code == 200
    return [q["sql"] for q in queries.captured_queries]


def _expected() -> list[str]:
    """The statements of a delivery whose rule this process knows, by database.

    PostgreSQL: ONE statement (the delivery, its episodes' upsert and the rules' last_fired_at,
    `alerts.ingest.upsert.delivery_write`), which is its own transaction in production (no
    BEGIN/COMMIT). SQLite: savepoint (BEGIN in production), existing episodes, the delivery,
    the episodes' upsert, release (COMMIT). Rules and AI systems come from the process's memory
    (alerts/ingest/catalog_cache.py); the token is not looked up again; no session, user or
    axes table is read."""
    if connection.vendor == "postgresql":
        return ["WITH"]
    return [
        "SAVEPOINT",
        "SELECT id, fingerprint, starts_at, ends_at FROM alerts_episode",
        'INSERT INTO "alerts_delivery"',
        'INSERT INTO "alerts_episode"',
        "RELEASE SAVEPOINT",
    ]


def _kinds(sql: list[str]) -> list[str]:
    """Each statement as the start it has among `_expected()`, or its first 60 characters."""
    expected = _expected()
    return [next((e for e in expected if s.lstrip().startswith(e)), s[:60]) for s in sql]


def _warm(post: Post) -> None:
    # The first delivery creates the rule (and commits: its callbacks forget the catalog); the
    # second one reads it and remembers it, as a worker does with its first deliveries.
    post("alertmanager", _delivery(1, tag="warm"))
    post("alertmanager", _delivery(1, tag="warm2"))


@pytest.mark.parametrize("alerts", [1, 50])
def test_a_delivery_is_a_fixed_list_of_statements(post: Post, alerts: int) -> None:
    _warm(post)
    sql = _statements(post, _delivery(alerts, tag=f"new{alerts}"))
    # Exact: a statement that comes back (a rules or systems SELECT, BEGIN/COMMIT, a separate
    # delivery INSERT on PostgreSQL) fails here.
    assert _kinds(sql) == _expected(), sql
    assert not [s for s in sql if "apitoken" in s or "session" in s or "axes" in s]
    assert not [s for s in sql if "alerts_alertrule" in s and s.startswith("SELECT")]
    assert not [s for s in sql if "fleet_aisystem" in s]
    assert Episode.objects.count() == 2 + alerts


def test_a_resend_takes_no_more_statements(post: Post) -> None:
    _warm(post)
    delivery = _delivery(50, tag="again")
    post("alertmanager", delivery)
    sql = _statements(post, delivery)
    assert _kinds(sql) == _expected(), sql
    resent = Episode.objects.filter(labels__instance__startswith="again-")
    assert set(resent.values_list("notification_count", flat=True)) == {2}


def test_page_middleware_does_not_run_for_webhooks(post: Post, client: Client) -> None:
    with mock.patch.object(
        SessionMiddleware, "process_request", side_effect=AssertionError("session read")
    ):
        response = post("alertmanager", capture()[0])
    assert response.status_code == 200
    # What every response carries is still there.
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"].startswith("default-src 'self'")
    assert response["Content-Length"] == str(len(response.content))
    assert response["X-Request-ID"]
    # ...and pages still have their sessions.
    with (
        pytest.raises(AssertionError, match="session read"),
        mock.patch.object(
            SessionMiddleware, "process_request", side_effect=AssertionError("session read")
        ),
    ):
        client.get("/login/")


def test_tokens_are_still_required(post: Post, client: Client) -> None:
    response = client.post(
        "/api/v1/integrations/alertmanager/", data="{}", content_type="application/json"
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="steward"'
    assert post("alertmanager", capture()[0], token="not-a-token").status_code == 401
    _, read_only = token_create(name="reader", scope=ApiToken.Scope.READ)
    assert post("alertmanager", capture()[0], token=read_only).status_code == 403
    assert Delivery.objects.count() == 0


def test_a_revoked_token_is_refused_at_once_though_remembered(post: Post) -> None:
    token, raw = token_create(name="soon-revoked", scope=ApiToken.Scope.INGEST)
    assert post("alertmanager", capture()[0], token=raw).status_code == 200  # remembered
    token_revoke(token=token)
    assert post("alertmanager", capture()[1], token=raw).status_code == 401


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=64 * 1024)
def test_the_size_limit_still_applies(post: Post) -> None:
    body = _delivery(1, tag="big")
    body["alerts"][0]["annotations"]["description"] = "x" * (65 * 1024)
    response = post("alertmanager", body)
    assert response.status_code == 413
    assert response.json()["status"] == "error"


def test_a_database_outage_inside_the_view_is_503(ingest_token: str) -> None:
    client = Client(raise_request_exception=False)
    with mock.patch("alerts.ingest.views._receive", side_effect=OperationalError("down")):
        response = client.post(
            "/api/v1/integrations/alertmanager/",
            data=capture()[0],
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {ingest_token}",
        )
    assert response.status_code == 503
    assert response["Retry-After"]


def test_a_database_outage_at_the_upsert_is_503_and_stores_nothing(post: Post) -> None:
    # The episodes' write: after the delivery's INSERT on SQLite, the one statement on PostgreSQL.
    writer = "delivery_write" if connection.vendor == "postgresql" else "episodes_upsert"
    with mock.patch(f"alerts.ingest.services.{writer}", side_effect=OperationalError("down")):
        response = post("alertmanager", capture()[0])
    assert response.status_code == 503
    assert Delivery.objects.count() == 0 and Episode.objects.count() == 0


def test_an_unknown_host_is_refused(post: Post) -> None:
    response = post("alertmanager", capture()[0], HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert Delivery.objects.count() == 0


@override_settings(SECURE_SSL_REDIRECT=True)
def test_plain_http_is_redirected_when_ssl_redirect_is_on(post: Post) -> None:
    response = post("alertmanager", capture()[0])
    assert response.status_code == 301
    assert response["Location"].startswith("https://")
    assert Delivery.objects.count() == 0
    assert post("alertmanager", capture()[0], secure=True).status_code == 200


def test_an_unknown_path_under_the_prefix_takes_the_full_chain(post: Post) -> None:
    response = post("alertmanager/extra", capture()[0])
    assert response.status_code == 404


def test_the_postgresql_write_is_prepared_once_per_connection(post: Post) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no prepared statements to check")
    _warm(post)
    for n in range(3):
        assert post("alertmanager", _delivery(1, tag=f"prepared{n}")).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%jsonb_to_recordset%"],
        )
        assert cursor.fetchone()[0] == 1
