"""Fault: a burst of 10,000 alerts in 200 deliveries of 50, posted by 8 concurrent senders to
gunicorn on PostgreSQL with Redis and a worker, as after an Alertmanager restart or a network
partition heals. No delivery is refused, none is lost, and the debounced evaluations drain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from alerts.models import Delivery, Episode, Evaluation
from tests.faults.conftest import (
    Gunicorn,
    alertmanager_payload,
    evaluations_idle,
    last_week_start,
    post,
    wait_for,
)
from tests.support.noise_results import clean_results, results
from tests.support.processes import CeleryWorker, RedisServer

pytestmark = [pytest.mark.services, pytest.mark.timeout(60)]

DELIVERIES = 200
PER_DELIVERY = 50
SENDERS = 8


def test_a_burst_of_10000_alerts_is_stored_whole_and_the_evaluation_backlog_drains(
    redis_server: RedisServer,
    gunicorn: Callable[..., Gunicorn],
    worker: Callable[..., CeleryWorker],
    ingest_token: str,
) -> None:
    cache_url = redis_server.url
    broker_url = f"redis://127.0.0.1:{redis_server.port}/1"
    debounce = {"REDIS_URL": cache_url, "STEWARD_EVALUATION_DEBOUNCE_SECONDS": "1"}
    web = gunicorn(
        CELERY_BROKER_URL=broker_url, WEB_CONCURRENCY="2", GUNICORN_THREADS="4", **debounce
    )
    celery = worker(broker_url, **debounce)
    week, monday = last_week_start()
    payloads = [
        alertmanager_payload(
            [
                (f"Burst{n % 20}", f"host-{n}-{i}", monday + timedelta(seconds=n * 60 + i))
                for i in range(PER_DELIVERY)
            ],
            group=f"burst-{n}",
        )
        for n in range(DELIVERIES)
    ]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=SENDERS) as senders:
        answers: list[tuple[int, Any]] = list(
            senders.map(lambda payload: post(web.base, ingest_token, payload), payloads)
        )
    ingest_seconds = time.monotonic() - started
    last_delivery = Delivery.objects.latest("received_at").received_at

    statuses = sorted({status for status, _ in answers})
    assert statuses == [200], [a for a in answers if a[0] != 200][:3]
    assert sum(body["opened"] for _, body in answers) == DELIVERIES * PER_DELIVERY
    assert Delivery.objects.filter(outcome="accepted").count() == DELIVERIES
    assert Episode.objects.count() == DELIVERIES * PER_DELIVERY

    idle = evaluations_idle(cache_url, broker_url)

    def drained() -> bool:
        return (
            idle() and Evaluation.objects.filter(week=week, started_at__gt=last_delivery).exists()
        )

    wait_for(drained, seconds=40, what="the evaluation backlog to drain", logs=celery.log())
    drain_seconds = time.monotonic() - started - ingest_seconds
    evaluations = Evaluation.objects.filter(week=week).count()
    # Debounced: a handful of evaluations for 200 deliveries, not one each.
    assert 1 <= evaluations <= DELIVERIES // 10, evaluations
    print(
        f"burst: {DELIVERIES} deliveries in {ingest_seconds:.1f}s, drained "
        f"{drain_seconds:.1f}s later with {evaluations} evaluations"
    )
    survived = results(week)
    assert sum(row[2] for row in survived["rule_weeks"]) == DELIVERIES * PER_DELIVERY
    assert clean_results(week) == survived
