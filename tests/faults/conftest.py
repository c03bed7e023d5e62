"""Real services for the fault tests: PostgreSQL (the pytest-django test database), a Redis
server of our own, gunicorn and Celery processes, on free ports of 127.0.0.1.

Every process is started by a fixture and stopped at the end of its test, even on failure.
The processes see committed data only, hence `transactional_db`.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from django.db import connection

from alerts.models import Evaluation
from core.weeks import current_week, week_bounds, week_shift
from tests.conftest import require_service
from tests.support.processes import ROOT, CeleryWorker, RedisServer, free_port, wait_for_port
from tokens.models import ApiToken
from tokens.services import token_create


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{db['USER']}{password}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for(condition: Callable[[], Any], *, seconds: float, what: str, logs: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}\n{logs[-4000:]}")


class Gunicorn:
    """`gunicorn config.wsgi -c deploy/gunicorn.conf.py`, configured only through env vars."""

    def __init__(self, env: dict[str, str], log_path: Path, *, port: int | None = None) -> None:
        self.env = env
        self.log_path = log_path
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        inherited = dict(os.environ)
        inherited.pop("PROMETHEUS_MULTIPROC_DIR", None)  # only when the test gives one
        env = {
            **inherited,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "LOG_FORMAT": "json",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            **self.env,
        }
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "gunicorn", "config.wsgi:application"]
                + ["-c", "deploy/gunicorn.conf.py"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base}/healthz", timeout=1):  # noqa: S310
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn not up in 30s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        wait_for_port(self.port, up=False, timeout=5)


@pytest.fixture
def pg(require_postgres: None, transactional_db: None) -> None:
    """The PostgreSQL test database, committed for real so other processes see the data."""


@pytest.fixture
def redis_server(pg: None) -> Iterator[RedisServer]:
    require_service(RedisServer.available(), "redis-server on PATH")
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ingest_token(pg: None) -> str:
    _, raw = token_create(name="alertmanager", scope=ApiToken.Scope.INGEST)
    return raw


@pytest.fixture
def gunicorn(pg: None, tmp_path: Path) -> Iterator[Callable[..., Gunicorn]]:
    """Start gunicorns (from several threads at once if need be); all are stopped together."""
    started: list[Gunicorn] = []
    url = database_url()

    def start(**env: str) -> Gunicorn:
        port = free_port()
        log = tmp_path / ("gunicorn.log" if not started else f"gunicorn-{port}.log")
        server = Gunicorn({"DATABASE_URL": url, **env}, log, port=port)
        started.append(server)
        server.start()
        return server

    yield start
    stop_all(started)


@pytest.fixture
def worker(pg: None, tmp_path: Path) -> Iterator[Callable[..., CeleryWorker]]:
    """Start Celery workers (from several threads at once if need be); all stopped together."""
    started: list[CeleryWorker] = []
    url = database_url()

    def start(broker_url: str, *, concurrency: int = 1, **env: str) -> CeleryWorker:
        process = CeleryWorker(
            broker_url=broker_url, env={"DATABASE_URL": url, **env}, concurrency=concurrency
        )
        started.append(process)
        process.start(tmp_path / f"worker{len(started)}-{id(process)}.log")
        process.wait_ready()
        return process

    yield start
    stop_all(started)


def stop_all(processes: list[Gunicorn] | list[CeleryWorker]) -> None:
    """Stop every process at the same time: each may take seconds to shut down gracefully."""
    if processes:
        with ThreadPoolExecutor(max_workers=len(processes)) as pool:
            list(pool.map(lambda process: process.stop(), processes))


def evaluations_idle(cache_url: str, broker_url: str) -> Callable[[], bool]:
    """A check that no evaluation is pending, queued or held by a worker, and none is running."""
    cache, broker = redis.Redis.from_url(cache_url), redis.Redis.from_url(broker_url)

    def idle() -> bool:
        return (
            not cache.keys("*evaluation-pending*")
            and broker.llen("celery") == 0
            and broker.hlen("unacked") == 0
            and not Evaluation.objects.exclude(status="done").exists()
        )

    return idle


def this_week_start() -> tuple[str, datetime]:
    """The running ISO week and its start, for what only the beat's hourly evaluation of the
    running week finds. On a Monday morning, alerts some hours after it are still in the future."""
    week = current_week()
    start, _ = week_bounds(week)
    return week, start


def last_week_start() -> tuple[str, datetime]:
    """Last ISO week and its start: alerts within a week of it are in the past whatever the day
    and hour the test runs (these processes keep the real clock; it cannot be pinned)."""
    week = week_shift(current_week(), -1)
    start, _ = week_bounds(week)
    return week, start


def alertmanager_payload(
    alerts: list[tuple[str, str, datetime]], *, group: str = "burst"
) -> dict[str, Any]:
    """An Alertmanager 0.25 webhook body: (alertname, instance, startsAt) per firing alert."""
    return {
        "receiver": "steward",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": name, "instance": instance, "severity": "warning"},
                "annotations": {"summary": f"{name} on {instance}"},
                "startsAt": starts_at.isoformat().replace("+00:00", "Z"),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus:9090/graph",
                "fingerprint": hashlib.sha256(f"{name}/{instance}".encode()).hexdigest()[:16],
            }
            for name, instance, starts_at in alerts
        ],
        "groupLabels": {"alertname": group},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "version": "4",
        "groupKey": f'{{}}:{{group="{group}"}}',
        "truncatedAlerts": 0,
    }


def post(base: str, token: str, payload: object, *, timeout: float = 30) -> tuple[int, Any]:
    """POST a delivery for real; returns (status, decoded JSON body)."""
    request = urllib.request.Request(  # noqa: S310
        f"{base}/api/v1/integrations/alertmanager/",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        body = error.read()
        try:
            return error.code, json.loads(body)
        except ValueError:
            return error.code, body.decode(errors="replace")
