"""Metrics under gunicorn with several workers, and from a Celery worker's metrics server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.test import override_settings

from ops import celery_hooks
from ops.metrics import CELERY_TASKS
from tests.support.processes import free_ports

ROOT = Path(__file__).resolve().parents[2]
GUNICORN_PORT, WORKER_METRICS_PORT = free_ports(2)


def get(url: str, timeout: float = 2.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
        return response.status, response.read().decode()


def wait_until_up(url: str, process: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"gunicorn exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            get(url, timeout=0.5)
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("gunicorn did not start in time")


def total(text: str, prefix: str) -> float:
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


def test_gunicorn_workers_share_counters_through_the_multiprocess_dir(tmp_path: Path) -> None:
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
        "GUNICORN_BIND": f"127.0.0.1:{GUNICORN_PORT}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "-c",
            "deploy/gunicorn.conf.py",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{GUNICORN_PORT}"
    try:
        wait_until_up(f"{base}/healthz", process, time.monotonic() + 30)
        for _ in range(40):
            get(f"{base}/healthz")
        _, text = get(f"{base}/metrics")
    finally:
        process.terminate()
        process.wait(timeout=15)
    # Each worker that served a request writes its own file; /metrics sums them whichever worker
    # answers. The master (preload_app) also holds one, with the zero its unlabelled counters got
    # at import; with preload a worker that the kernel gave no connection writes no file.
    files = {path.name for path in multiproc.glob("counter_*.db")}
    assert 1 <= len(files - {f"counter_{process.pid}.db"}) <= 2
    served = total(text, 'steward_http_responses_total{method="GET",status="200"}')
    assert served >= 41  # the startup probe and the 40 requests
    # Without migrations the database metrics say so instead of failing the scrape.
    assert "steward_metrics_database_up 0.0" in text


def test_celery_worker_serves_its_task_metrics() -> None:
    CELERY_TASKS.labels(task="steward.noise_evaluate", outcome="success").inc()
    with override_settings(
        STEWARD_WORKER_METRICS_PORT=WORKER_METRICS_PORT, STEWARD_WORKER_METRICS_ADDRESS="127.0.0.1"
    ):
        server = celery_hooks.worker_metrics_server()
    assert server is not None
    try:
        status, text = get(f"http://127.0.0.1:{WORKER_METRICS_PORT}/metrics")
    finally:
        server.shutdown()
        server.server_close()
    assert status == 200
    assert 'steward_celery_tasks_total{outcome="success",task="steward.noise_evaluate"}' in text
    # The database-backed gauges are the web's job, not the worker's.
    assert "steward_flagged_rules" not in text


def test_worker_metrics_server_is_off_by_default() -> None:
    with override_settings(STEWARD_WORKER_METRICS_PORT=0):
        assert celery_hooks.worker_metrics_server() is None
