"""A real Celery worker: request ids travel in task headers, task outcomes reach its metrics."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from core.logs import request_id_var
from tests.conftest import require_service
from tests.support.processes import CeleryWorker, RedisServer, free_ports

REDIS_PORT, WORKER_METRICS_PORT = free_ports(2)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    require_service(RedisServer.available(), "redis-server binary")
    server = RedisServer(REDIS_PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_redis_server_can_be_stopped_and_started(redis_server: RedisServer) -> None:
    import redis

    client = redis.Redis.from_url(redis_server.url, socket_connect_timeout=0.5)
    assert client.ping()
    redis_server.stop()
    with pytest.raises(redis.ConnectionError):
        client.ping()
    redis_server.start()
    assert client.ping()


def _json_lines(text: str) -> list[dict[str, object]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return lines


def test_worker_logs_carry_the_request_id_and_serve_task_metrics(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    worker = CeleryWorker(
        broker_url=redis_server.url,
        include=("tests.support.tasks",),
        env={
            "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
            "STEWARD_WORKER_METRICS_PORT": str(WORKER_METRICS_PORT),
            "STEWARD_WORKER_METRICS_ADDRESS": "127.0.0.1",
        },
    )
    worker.start(tmp_path / "worker.log")
    try:
        worker.wait_ready()
        app = Celery("publisher", broker=redis_server.url, set_as_current=False)
        token = request_id_var.set("req-from-web-42")
        try:
            app.send_task("steward.test_echo_request_id", args=["first"])
        finally:
            request_id_var.reset(token)

        deadline = time.monotonic() + 20
        echoed: list[dict[str, object]] = []
        while time.monotonic() < deadline and not echoed:
            echoed = [line for line in _json_lines(worker.log()) if line.get("marker") == "first"]
            time.sleep(0.1)
        assert echoed, worker.log()
        assert echoed[0]["request_id"] == "req-from-web-42"

        # Counted in the pool child just after the task returns, served by the parent
        # through the multiprocess directory.
        expected = (
            'steward_celery_tasks_total{outcome="success",task="steward.test_echo_request_id"} 1.0'
        )
        url = f"http://127.0.0.1:{WORKER_METRICS_PORT}/metrics"
        text = ""
        while time.monotonic() < deadline and expected not in text:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310
                text = response.read().decode()
            time.sleep(0.1)
    finally:
        worker.stop()
    assert expected in text, text
