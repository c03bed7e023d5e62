"""A real Celery worker on Redis against the PostgreSQL test database (CI's PostgreSQL lane).

The worker is a subprocess (`celery -A config worker`) reading the same committed data, so
these tests use `transactional_db`. Under STEWARD_REQUIRE_SERVICES=1 a missing PostgreSQL or
Redis fails them instead of skipping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.core.cache import cache
from django.db import connection, transaction
from django.test import override_settings

from alerts import tasks
from alerts.models import AlertRule, CoFiring, Episode, Evaluation, RuleFlag, RuleWeek
from alerts.noise.evaluation import week_evaluate
from alerts.signals import episodes_changed
from config.celery import app
from tests.alerts.noise.conftest import MONDAY, WEEK
from tests.support.evaluation_pause import PAUSE_ENV
from tests.support.noise_results import clean_results, results

pytestmark = [pytest.mark.services, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 3
_LOGS: list[Path] = []  # the running test's worker logs, quoted when a wait times out


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def _forget_connections() -> None:
    """Drop the app's cached broker connections: eager calls made earlier in the session can
    have created them for the (empty) default broker URL."""
    app.amqp._producer_pool = None
    app._pool = None


@pytest.fixture
def broker(require_postgres: None, redis_url: str, transactional_db: None) -> Iterator[str]:
    """Point this process's Celery app at Redis (tasks are eager otherwise)."""
    redis.Redis.from_url(redis_url).flushdb()
    cache.delete(tasks.PENDING_KEY.format(week=WEEK))
    # Celery reads Django's CELERY_* names first, so those are the keys to override.
    override = {
        "CELERY_TASK_ALWAYS_EAGER": False,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_BROKER_TRANSPORT_OPTIONS": {"visibility_timeout": VISIBILITY_TIMEOUT},
    }
    saved = {key: app.conf[key] for key in override}
    app.conf.update(override)
    _forget_connections()
    assert not tasks.evaluate_week.app.conf.task_always_eager
    try:
        yield redis_url
    finally:
        app.conf.update(saved)
        _forget_connections()
        redis.Redis.from_url(redis_url).flushdb()


@pytest.fixture
def start_worker(broker: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    logs = _LOGS
    logs.clear()

    def start(**extra_env: str) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": broker,
            "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
            **extra_env,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"]
        log = tmp_path / f"worker{len(started)}.log"
        with log.open("wb") as output:
            worker = subprocess.Popen(  # noqa: S603
                command,
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        started.append(worker)
        logs.append(log)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()


def _wait_for(condition: Callable[[], Any], *, seconds: float = 60, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    tails = "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in _LOGS)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}\n{tails}")


def _noisy_rule(fires: int) -> AlertRule:
    rule = AlertRule.objects.create(alertname="WorkerNoisy", severity="warning")
    _fire(rule, fires)
    return rule


def _fire(rule: AlertRule, count: int, offset: int = 0) -> None:
    Episode.objects.bulk_create(
        Episode(
            rule=rule,
            fingerprint=f"w-{rule.alertname}",
            starts_at=MONDAY + timedelta(hours=offset + i),
            ends_at=MONDAY + timedelta(hours=offset + i, minutes=10),
            source="prometheus",
        )
        for i in range(count)
    )


@override_settings(STEWARD_EVALUATION_DEBOUNCE_SECONDS=0)
def test_an_ingested_delivery_enqueues_an_evaluation_that_a_worker_runs(
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    start_worker()
    with transaction.atomic():
        rule = _noisy_rule(25)
        # What the ingest endpoint does after storing a delivery's episodes.
        transaction.on_commit(lambda: episodes_changed.send(sender=None, weeks=[WEEK]))
    _wait_for(
        lambda: Evaluation.objects.filter(week=WEEK, status="done").exists(),
        what="the worker's evaluation",
    )
    flag = RuleFlag.objects.get(rule=rule, week=WEEK, flag="noisy")
    assert flag.message.startswith("fired 25 times")
    assert RuleWeek.objects.get(rule=rule, week=WEEK).fires == 25


def test_a_worker_killed_mid_evaluation_leaves_the_week_for_a_redelivery(
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """Fault "worker killed with SIGKILL mid-evaluation" of issue 8 (see tests/faults/): the
    task is redelivered and the week's full results equal a clean run on the same data."""
    rule = _noisy_rule(5)
    # A second rule firing at the same moments, so the week also has co-firing rows.
    echo = AlertRule.objects.create(alertname="WorkerEcho", severity="warning")
    week_evaluate(week=WEEK)  # the week as it stood before the new episodes
    before = results(WEEK)
    _fire(rule, 20, offset=10)
    _fire(echo, 20, offset=10)
    doomed = start_worker(**{PAUSE_ENV: "60"})
    tasks.evaluate_week.delay(WEEK)
    _wait_for(
        lambda: Evaluation.objects.filter(week=WEEK, status="running").exists(),
        what="the evaluation to start",
    )
    time.sleep(1)  # inside the write transaction, rows deleted but not yet inserted
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    # Nothing half-written: the killed transaction rolled back to the previous results.
    assert results(WEEK) == before
    assert RuleWeek.objects.get(rule=rule, week=WEEK).fires == 5

    # acks_late: the task was never acknowledged, so once its visibility timeout has passed the
    # next worker restores it from Redis's unacked set when it starts polling.
    time.sleep(VISIBILITY_TIMEOUT + 1)
    start_worker()
    _wait_for(
        lambda: Evaluation.objects.filter(week=WEEK, status="done").count() == 2,
        seconds=60,
        what="the redelivered evaluation",
    )
    assert RuleWeek.objects.get(rule=rule, week=WEEK).fires == 25
    assert RuleFlag.objects.filter(rule=rule, week=WEEK, flag="noisy").exists()
    assert CoFiring.objects.filter(week=WEEK, rule=echo, other=rule).exists()
    abandoned = Evaluation.objects.get(week=WEEK, status="failed")
    assert "Abandoned" in abandoned.error
    redelivered = results(WEEK)
    assert clean_results(WEEK) == redelivered  # RuleWeek, RuleFlag and CoFiring rows alike


def _terminate_backends_in_transaction() -> int:
    """pg_terminate_backend on every other backend of the test database that is inside a
    transaction: the worker held at `evaluation_writing`, as a failover or restart would."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
            " AND pid <> pg_backend_pid() AND state = 'idle in transaction'",
            [connection.settings_dict["NAME"]],
        )
        return len(cursor.fetchall())


def test_an_evaluation_whose_connection_is_dropped_is_retried_and_succeeds(
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """Finding 6 of issue 17: only "busy" was retried, so an evaluation interrupted by a lost
    connection stayed failed until the next delivery or the hourly beat."""
    rule = _noisy_rule(25)
    start_worker(**{PAUSE_ENV: "3"})  # every attempt pauses 3 s inside its write transaction
    tasks.evaluate_week.delay(WEEK)
    _wait_for(
        lambda: Evaluation.objects.filter(week=WEEK, status="running").exists(),
        what="the evaluation to start",
    )
    time.sleep(0.5)  # inside the write transaction
    assert _terminate_backends_in_transaction() == 1

    _wait_for(
        lambda: Evaluation.objects.filter(week=WEEK, status="done").exists(),
        what="the evaluation retried after its connection was dropped",
    )
    # The interrupted attempt could not record its failure over the dead connection; the retry
    # found it "running" under the lock and marked it abandoned.
    assert sorted(Evaluation.objects.filter(week=WEEK).values_list("status", flat=True)) == [
        "done",
        "failed",
    ]
    assert RuleFlag.objects.filter(rule=rule, week=WEEK, flag="noisy").exists()
    assert "database connection lost" in _LOGS[0].read_text()
