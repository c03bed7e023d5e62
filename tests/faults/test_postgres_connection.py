"""Fault: the PostgreSQL connection of the web process is dropped.

The server-side backend of gunicorn's persistent connection (CONN_MAX_AGE) is terminated with
pg_terminate_backend, as a database restart, failover or idle-connection reaper would. Between
two deliveries, CONN_HEALTH_CHECKS makes the next request reconnect instead of failing; in the
middle of a delivery, the endpoint answers 503 JSON (never 429, never a 2xx for data it did not
store) so that Alertmanager retries, nothing of that delivery is stored, and the next succeeds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction

from alerts.models import Delivery, Episode
from tests.faults.conftest import Gunicorn, alertmanager_payload, last_week_start, post, wait_for

pytestmark = [pytest.mark.services, pytest.mark.timeout(60)]


def _server_backends(*, waiting_on_lock: bool = False) -> list[int]:
    """The backends of the test database other than this test's own connection."""
    sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
    if waiting_on_lock:
        sql += " AND wait_event_type = 'Lock'"
    with connection.cursor() as cursor:
        cursor.execute(sql, [connection.settings_dict["NAME"]])
        return [pid for (pid,) in cursor.fetchall()]


def _terminate(pids: list[int]) -> None:
    with connection.cursor() as cursor:
        for pid in pids:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


def _batch(tag: str, hour: int) -> dict[str, Any]:
    _, monday = last_week_start()
    alerts = [
        (f"Db{tag}", f"host-{i}", monday + timedelta(hours=hour, minutes=i)) for i in range(3)
    ]
    return alertmanager_payload(alerts, group=tag)


@pytest.fixture
def web(gunicorn: Callable[..., Gunicorn]) -> Gunicorn:
    # One process, one thread: one persistent connection, the one the test terminates.
    return gunicorn(WEB_CONCURRENCY="1", GUNICORN_THREADS="1", CONN_MAX_AGE="600")


def test_a_connection_dropped_between_deliveries_is_replaced_by_the_health_check(
    web: Gunicorn, ingest_token: str
) -> None:
    # Sessions another test left open on the test database are not the server's.
    others = set(_server_backends())
    status, _ = post(web.base, ingest_token, _batch("first", 0))
    assert status == 200
    before = [pid for pid in _server_backends() if pid not in others]
    assert len(before) == 1, before  # the persistent connection of the gunicorn worker
    _terminate(before)
    wait_for(lambda: before[0] not in _server_backends(), seconds=5, what="the backend to end")

    status, body = post(web.base, ingest_token, _batch("second", 1))

    assert status == 200, (body, web.log()[-3000:])
    after = [pid for pid in _server_backends() if pid not in others]
    assert len(after) == 1 and after != before  # a fresh connection, not a failed request
    assert Delivery.objects.filter(outcome="accepted").count() == 2
    assert Episode.objects.count() == 6


def test_a_connection_dropped_mid_delivery_answers_503_and_the_next_delivery_succeeds(
    web: Gunicorn, ingest_token: str
) -> None:
    status, _ = post(web.base, ingest_token, _batch("warmup", 0))
    assert status == 200
    answers: list[tuple[int, Any]] = []
    doomed = _batch("doomed", 2)
    # Hold a lock the delivery's transaction needs, so that it is provably in progress (its
    # token checked, its transaction open, waiting on the episodes table) when it is cut off.
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {Episode._meta.db_table} IN ACCESS EXCLUSIVE MODE")
        sender = threading.Thread(
            target=lambda: answers.append(post(web.base, ingest_token, doomed))
        )
        sender.start()
        wait_for(
            lambda: _server_backends(waiting_on_lock=True),
            seconds=10,
            what="the delivery to wait on the lock",
        )
        _terminate(_server_backends(waiting_on_lock=True))
        sender.join(timeout=20)
    assert answers, "the delivery got no answer"
    status, body = answers[0]
    assert status == 503, (body, web.log()[-3000:])
    assert body["status"] == "error" and "retry" in body["error"]
    # Nothing half-stored: neither the delivery row nor any of its episodes.
    assert not Delivery.objects.filter(group_key__contains="doomed").exists()
    assert not Episode.objects.filter(rule__alertname="Dbdoomed").exists()

    status, body = post(web.base, ingest_token, doomed)  # Alertmanager's retry, on a new connection
    assert status == 200, (body, web.log()[-3000:])
    assert body["opened"] == 3
    assert Delivery.objects.filter(outcome="accepted").count() == 2
    assert Episode.objects.filter(rule__alertname="Dbdoomed").count() == 3
