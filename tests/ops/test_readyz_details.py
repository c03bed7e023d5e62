"""/readyz tells anyone whether Steward is ready, but its error details (database host and
name, broker address) only to staff, the metrics token or the networks allowed to read /metrics."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError
from django.test import Client, override_settings

from ops import readiness

OUTSIDE = "203.0.113.9"  # not loopback: the default /metrics rule does not admit it
ERROR = (
    'connection to server at "db.internal.example" (10.1.2.3), port 5432 failed: '
    'FATAL:  database "steward_prod" does not exist'
)


@pytest.fixture(autouse=True)
def _database_down() -> None:
    readiness.migrations_cache_clear()
    with mock.patch.object(readiness, "connections") as connections:
        connections.__getitem__.return_value.cursor.side_effect = OperationalError(ERROR)
        yield


@pytest.mark.django_db
def test_anyone_learns_which_check_fails_but_not_the_database_address(client: Client) -> None:
    response = client.get("/readyz", REMOTE_ADDR=OUTSIDE)
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "failing", "migrations": "skipped", "broker": "ok"},
    }
    body = response.content.decode()
    assert "db.internal.example" not in body
    assert "steward_prod" not in body


@pytest.mark.django_db
def test_staff_see_the_details(client: Client, make_user: object) -> None:
    staff = User.objects.create_user("ops-staff", is_staff=True)
    client.force_login(staff)
    body = client.get("/readyz", REMOTE_ADDR=OUTSIDE).json()
    assert body["checks"]["database"] == f"database unreachable: {ERROR}"


@pytest.mark.django_db
@override_settings(STEWARD_METRICS_TOKEN="metrics-secret-for-tests")  # noqa: S106
def test_the_metrics_token_sees_the_details(client: Client) -> None:
    response = client.get(
        "/readyz",
        REMOTE_ADDR=OUTSIDE,
        headers={"Authorization": "Bearer metrics-secret-for-tests"},
    )
    assert "steward_prod" in response.json()["checks"]["database"]


@pytest.mark.django_db
def test_the_container_health_check_from_loopback_sees_the_details(client: Client) -> None:
    # deploy/healthcheck.py runs inside the container; only the status code matters to it.
    response = client.get("/readyz", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 503
    assert "steward_prod" in response.json()["checks"]["database"]
