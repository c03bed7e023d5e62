"""Fault: Redis (cache and broker) stopped while Alertmanager deliveries arrive.

Ingest is durable, the evaluation is derived: with Redis down every delivery must still be
answered 2xx, quickly, and stored; once Redis is back the evaluation catches up, with no
duplicate episodes and the same results as a clean evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from alerts.models import Delivery, Episode, Evaluation
from tests.faults.conftest import (
    Gunicorn,
    alertmanager_payload,
    last_week_start,
    post,
    wait_for,
)
from tests.support.noise_results import clean_results, results
from tests.support.processes import CeleryWorker, RedisServer

pytestmark = [pytest.mark.services, pytest.mark.timeout(60)]


def test_deliveries_are_stored_while_redis_is_down_and_the_evaluation_catches_up(
    redis_server: RedisServer,
    gunicorn: Callable[..., Gunicorn],
    worker: Callable[..., CeleryWorker],
    ingest_token: str,
) -> None:
    cache_url = redis_server.url
    broker_url = f"redis://127.0.0.1:{redis_server.port}/1"
    settings = {
        "REDIS_URL": cache_url,
        "CELERY_BROKER_URL": broker_url,
        "STEWARD_EVALUATION_DEBOUNCE_SECONDS": "1",
        "WEB_CONCURRENCY": "1",
        "GUNICORN_THREADS": "2",
    }
    web = gunicorn(**settings)
    celery = worker(broker_url, REDIS_URL=cache_url, STEWARD_EVALUATION_DEBOUNCE_SECONDS="1")
    week, monday = last_week_start()
    batches = [
        [
            (f"Outage{n % 3}", f"host-{n}-{i}", monday + timedelta(minutes=n * 10 + i))
            for i in range(5)
        ]
        for n in range(6)
    ]

    redis_server.stop()
    for n, batch in enumerate(batches):
        status, body = post(web.base, ingest_token, alertmanager_payload(batch, group=f"g{n}"))
        assert status == 200, (body, web.log()[-3000:])
        assert body["opened"] == 5
    assert Delivery.objects.filter(outcome="accepted").count() == len(batches)
    assert Episode.objects.count() == 30
    # The outage was seen and logged, not hidden, once: one warning line for the whole outage,
    # without a traceback (issue 17: every delivery logged a full traceback).
    assert web.log().count("cache unavailable") == 1, web.log()[-3000:]
    assert "Traceback" not in web.log(), web.log()[-3000:]
    assert not Evaluation.objects.filter(week=week).exists()

    redis_server.start()
    # Alertmanager re-sends the groups it had (repeat_interval) and a new alert arrives: the
    # first delivery after the outage enqueues the debounced evaluation again.
    for n, batch in enumerate(batches):
        status, body = post(web.base, ingest_token, alertmanager_payload(batch, group=f"g{n}"))
        assert status == 200, body
        assert body["opened"] == 0
    late = [("Outage0", "host-late", monday + timedelta(hours=2))]
    status, _ = post(web.base, ingest_token, alertmanager_payload(late, group="late"))
    assert status == 200
    wait_for(
        lambda: Evaluation.objects.filter(week=week, status="done").exists(),
        seconds=30,
        what="the evaluation after Redis returned",
        logs=celery.log(),
    )
    assert Episode.objects.count() == 31  # re-sent alerts were not stored twice
    caught_up = results(week)
    assert sum(row[2] for row in caught_up["rule_weeks"]) == 31  # fires over all rules

    assert clean_results(week) == caught_up
