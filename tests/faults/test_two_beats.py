"""Fault: two `celery beat` processes started by mistake (e.g. two replicas of the beat
service). Each sends the hourly evaluation of the running week — here every second — so the
same week is requested twice as often, concurrently; the per-week advisory lock
(alerts/noise/locking.py) must keep evaluations of one week from ever overlapping, and the
claim of each tick (Evaluation.trigger) must keep a tick from being evaluated twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from alerts.models import AlertRule, Episode, Evaluation
from tests.faults.conftest import database_url, this_week_start, wait_for
from tests.support.evaluation_pause import PAUSE_ENV
from tests.support.noise_results import clean_results, results
from tests.support.processes import ROOT, CeleryWorker, RedisServer

pytestmark = [pytest.mark.services, pytest.mark.timeout(60)]


@pytest.fixture
def beats(redis_server: RedisServer, tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(broker_url: str) -> Path:
        n = len(started)
        log = tmp_path / f"beat{n}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.faults.beat_settings",
            "DEBUG": "1",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
        }
        command = [sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "INFO"]
        command += [
            "-s",
            str(tmp_path / f"beat{n}-schedule"),
            "--pidfile",
            str(tmp_path / f"beat{n}.pid"),
        ]
        with log.open("wb") as output:
            started.append(
                subprocess.Popen(  # noqa: S603
                    command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
                )
            )
        return log

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _sent(log: Path) -> int:
    return log.read_text(errors="replace").count("Sending due task") if log.exists() else 0


def test_two_beats_never_run_two_evaluations_of_a_week_at_once(
    redis_server: RedisServer,
    worker: Callable[..., CeleryWorker],
    beats: Callable[[str], Path],
) -> None:
    week, monday = this_week_start()
    rules = [AlertRule.objects.create(alertname=f"Beat{n}", severity="warning") for n in range(3)]
    Episode.objects.bulk_create(
        Episode(
            rule=rules[i % 3],
            fingerprint=f"beat-{i}",
            starts_at=monday + timedelta(minutes=7 * i),
            ends_at=monday + timedelta(minutes=7 * i + 3),
            source="prometheus",
        )
        for i in range(60)
    )
    broker_url = redis_server.url
    # Three pool processes, and each evaluation held open for 1.5 s: with two beats sending
    # every second, several evaluations of the week are always requested at the same time.
    celery = worker(
        broker_url,
        concurrency=3,
        DJANGO_SETTINGS_MODULE="config.settings_test",  # where the pause seam is installed
        **{PAUSE_ENV: "1.5"},
    )
    logs = [beats(broker_url), beats(broker_url)]

    wait_for(
        lambda: all(_sent(log) >= 4 for log in logs)
        and Evaluation.objects.filter(week=week, status="done").count() >= 3,
        seconds=40,
        what="both beats to send and several evaluations to finish",
        logs=celery.log() + "".join(log.read_text(errors="replace") for log in logs),
    )
    # Let the evaluation in progress finish, then stop everything that could start another.
    wait_for(
        lambda: not Evaluation.objects.filter(week=week, status="running").exists(),
        seconds=10,
        what="the running evaluation to finish",
    )
    celery.stop()

    evaluations = list(
        Evaluation.objects.filter(week=week)
        .order_by("started_at")
        .values_list("status", "started_at", "finished_at")
    )
    assert {status for status, _, _ in evaluations} == {"done"}
    # Both beats sent each tick; each tick was evaluated once.
    triggers = Counter(Evaluation.objects.filter(week=week).values_list("trigger", flat=True))
    assert triggers and all(t.startswith("hourly@") for t in triggers), triggers
    assert set(triggers.values()) == {1}, triggers
    for (_, _, finished), (_, next_started, _) in zip(evaluations, evaluations[1:], strict=False):
        assert finished is not None and finished <= next_started, evaluations
    # The lock was really contended: some requests found the week busy and were retried.
    assert "is already running" in celery.log()
    survived = results(week)
    assert sum(row[2] for row in survived["rule_weeks"]) == 60
    assert clean_results(week) == survived
