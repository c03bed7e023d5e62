"""Scale out: two web instances and two workers against one PostgreSQL and one Redis (README
"Several machines"). Each instance is what a machine runs: gunicorn with the production config
(`deploy/gunicorn.conf.py`), DEBUG off, JSON logs, its own metrics directory; both share
DATABASE_URL, REDIS_URL (cache), CELERY_BROKER_URL and SECRET_KEY.

The same Alertmanager deliveries (the real 0.25 capture, replayed for ten alert sets shifted
into last week) reach both instances at once, duplicated and with resolves overtaking their
firings; nothing may be doubled or lost. Then both workers receive the scheduled evaluation
requests at the same moment, as from two beats: each week is evaluated once per tick.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from celery import Celery
from django.db.models import Count
from django.utils.dateparse import parse_datetime

from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.models import Delivery, Episode, Evaluation, RuleWeek
from core.weeks import current_week
from tests.faults.conftest import Gunicorn, evaluations_idle, last_week_start, post, wait_for
from tests.support.evaluation_pause import PAUSE_ENV
from tests.support.noise_results import clean_results, results
from tests.support.processes import CeleryWorker, RedisServer

pytestmark = [pytest.mark.services, pytest.mark.timeout(120)]

CAPTURE = (
    Path(__file__).resolve().parents[1] / "fixtures/alertmanager/alertmanager-0.25-capture.json"
)
REPLICAS = 10
NEVER = "0001-01-01T00:00:00Z"


def _capture() -> list[dict[str, Any]]:
    deliveries: list[dict[str, Any]] = json.loads(CAPTURE.read_text())
    return deliveries


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _replica(capture: list[dict[str, Any]], n: int, base: datetime) -> list[dict[str, Any]]:
    """The capture as alert set `n`: its own label `replica` (hence fingerprints), its times
    moved to `base` + n hours, in last week."""
    origin = min(parse_datetime(a["startsAt"]) for d in capture for a in d["alerts"])
    assert origin is not None
    shift = base + timedelta(hours=n) - origin
    deliveries = copy.deepcopy(capture)
    for delivery in deliveries:
        delivery["groupKey"] += f"/replica-{n}"
        for alert in delivery["alerts"]:
            alert["labels"]["replica"] = f"r{n}"
            alert["fingerprint"] = fingerprint(alert["labels"])
            alert["startsAt"] = _stamp(parse_datetime(alert["startsAt"]) + shift)  # type: ignore[operator]
            if alert["endsAt"] != NEVER:
                alert["endsAt"] = _stamp(parse_datetime(alert["endsAt"]) + shift)  # type: ignore[operator]
    return deliveries


def _expected(deliveries: list[dict[str, Any]]) -> dict[tuple[str, datetime], datetime | None]:
    """(fingerprint, startsAt) → endsAt of every episode: a resolve closes it for good."""
    episodes: dict[tuple[str, datetime], datetime | None] = {}
    for delivery in deliveries:
        for alert in delivery["alerts"]:
            key = (alert["fingerprint"], parse_datetime(alert["startsAt"]))
            ends = None if alert["status"] == "firing" else parse_datetime(alert["endsAt"])
            episodes[key] = episodes.get(key) or ends  # type: ignore[index]
    return episodes  # type: ignore[return-value]


def test_two_web_instances_and_two_workers_double_nothing_and_evaluate_each_week_once(
    redis_server: RedisServer,
    gunicorn: Callable[..., Gunicorn],
    worker: Callable[..., CeleryWorker],
    ingest_token: str,
    tmp_path: Path,
) -> None:
    cache_url = redis_server.url
    broker_url = f"redis://127.0.0.1:{redis_server.port}/1"
    shared = {
        "DEBUG": "0",
        "SECRET_KEY": "scale-out-test-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "REDIS_URL": cache_url,
        "CELERY_BROKER_URL": broker_url,
        "STEWARD_EVALUATION_DEBOUNCE_SECONDS": "2",
    }

    def machine(n: int) -> Gunicorn:
        metrics = tmp_path / f"metrics-{n}"  # per machine, never shared
        metrics.mkdir()
        return gunicorn(
            **shared,
            WEB_CONCURRENCY="2",
            GUNICORN_THREADS="2",
            PROMETHEUS_MULTIPROC_DIR=str(metrics),
        )

    def celery(n: int) -> CeleryWorker:
        # The pause holds each evaluation 1.5 s inside its transaction, so two workers'
        # evaluations of one tick would overlap if both ran (the seam is in the test settings).
        return worker(
            broker_url,
            concurrency=1,
            DJANGO_SETTINGS_MODULE="config.settings_test",
            **shared,
            **{PAUSE_ENV: "1.5"},
        )

    with ThreadPoolExecutor(max_workers=4) as starting:  # the four machines boot together
        web = [starting.submit(machine, n) for n in range(2)]
        work = [starting.submit(celery, n) for n in range(2)]
        machines = [future.result() for future in web]
        workers = [future.result() for future in work]
    week, monday = last_week_start()

    # Ten alert sets, each the capture's six deliveries: in the captured order for even sets,
    # reversed for odd ones (every resolve before its firing). Wave i carries each set's i-th
    # delivery to BOTH instances, all at once; the waves follow one another.
    capture = _capture()
    replicas = [_replica(capture, n, monday + timedelta(days=1)) for n in range(REPLICAS)]
    sequences = [r if n % 2 == 0 else r[::-1] for n, r in enumerate(replicas)]
    expected = _expected([d for r in replicas for d in r])
    posts = 0
    with ThreadPoolExecutor(max_workers=8) as senders:
        for wave in range(len(capture)):
            batch = [(m, seq[wave]) for seq in sequences for m in machines]
            batch = batch[::2] + batch[1::2]  # interleave the instances
            answers = list(senders.map(lambda job: post(job[0].base, ingest_token, job[1]), batch))
            assert {status for status, _ in answers} == {200}, answers[:3]
            posts += len(batch)

    # Nothing doubled, nothing lost: one episode per (fingerprint, start), closed exactly when
    # its resolve said, however the copies raced; every delivery recorded once.
    stored = {
        (fp, starts): ends
        for fp, starts, ends in Episode.objects.values_list("fingerprint", "starts_at", "ends_at")
    }
    assert Episode.objects.count() == len(expected) == 7 * REPLICAS
    assert stored == expected
    per_fingerprint = Counter(fp for fp, _ in expected)
    assert dict(
        Episode.objects.values("fingerprint")
        .annotate(n=Count("id"))
        .values_list("fingerprint", "n")
    ) == dict(per_fingerprint)
    assert Delivery.objects.filter(outcome="accepted").count() == posts == 2 * 6 * REPLICAS
    assert not Delivery.objects.exclude(outcome="accepted").exists()

    drained = evaluations_idle(cache_url, broker_url)

    logs = lambda: "".join(w.log() for w in workers)  # noqa: E731
    # The debounce spans both instances (shared cache): the changed week is evaluated.
    wait_for(
        lambda: drained() and Evaluation.objects.filter(week=week, trigger="").exists(),
        seconds=60,  # a debounced run that found the week busy retries 30 s later
        what="the debounced evaluation of the changed week",
        logs=logs(),
    )

    # Two beats' ticks reach both workers at the same moment: Monday's evaluation of last week
    # and the hourly one of the running week, each sent twice.
    sender = Celery("two-beats", broker=broker_url)
    for _ in range(2):
        sender.send_task("steward.evaluate_previous_week")
        sender.send_task("steward.evaluate_current_week")
    sender.close()
    wait_for(
        lambda: drained()
        and Evaluation.objects.filter(trigger="weekly").exists()
        and Evaluation.objects.filter(trigger__startswith="hourly@").exists(),
        seconds=60,
        what="the scheduled evaluations to finish",
        logs=logs(),
    )

    runs = Counter(Evaluation.objects.exclude(trigger="").values_list("week", "trigger", "status"))
    assert runs[(week, "weekly", "done")] == 1, runs
    assert {key[0] for key in runs} == {week, current_week()}, runs
    assert all(count == 1 for count in runs.values()), runs  # once per week and tick
    assert "already evaluated" in logs()  # the duplicates were really delivered, and dropped
    assert all("Task steward.evaluate_week[" in w.log() for w in workers)  # both took some
    assert not RuleWeek.objects.values("rule", "week").annotate(n=Count("id")).filter(n__gt=1)
    survived = results(week)
    assert sum(row[2] for row in survived["rule_weeks"]) == 7 * REPLICAS
    assert clean_results(week) == survived
