from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from django.db import DatabaseError
from django.test import Client, override_settings

from ops import readiness
from tests.support.processes import free_port


@pytest.fixture(autouse=True)
def _fresh_migration_cache() -> None:
    readiness.migrations_cache_clear()


def test_healthz_answers_without_touching_the_database(
    client: Client, db: None, django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_ok_with_database_and_migrations(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "migrations": "ok", "broker": "ok"},
    }


@pytest.mark.django_db
def test_readyz_caches_the_migration_check(client: Client) -> None:
    client.get("/readyz")
    with mock.patch.object(readiness, "MigrationExecutor") as executor:
        client.get("/readyz")
    executor.assert_not_called()


@pytest.mark.django_db
def test_readyz_reports_pending_migrations(client: Client) -> None:
    fake_migration = mock.Mock(app_label="alerts", name="0099_future")
    fake_migration.name = "0099_future"
    with mock.patch.object(readiness, "MigrationExecutor") as executor:
        executor.return_value.migration_plan.return_value = [(fake_migration, False)]
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["migrations"] == "1 migration(s) not applied: alerts.0099_future"


@pytest.mark.django_db
def test_readyz_is_unavailable_when_the_database_fails(client: Client) -> None:
    with mock.patch.object(readiness, "connections") as connections:
        connections.__getitem__.return_value.cursor.side_effect = DatabaseError("gone")
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "database unreachable: gone"
    assert body["checks"]["migrations"] == "skipped"


@pytest.mark.django_db
def test_readyz_fails_fast_when_the_broker_is_down(client: Client) -> None:
    # Nothing listens on a free port.
    with override_settings(
        CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0", STEWARD_READYZ_TIMEOUT_SECONDS=0.5
    ):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("broker unreachable")


@pytest.mark.django_db
def test_readyz_reaches_a_live_broker(client: Client, redis_url: str) -> None:
    with override_settings(CELERY_BROKER_URL=redis_url):
        response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["broker"] == "ok"


def test_health_endpoints_need_no_login_and_are_json(client: Client) -> None:
    response = client.get("/healthz")
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["status"] == "ok"
