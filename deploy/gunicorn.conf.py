"""Gunicorn settings for the `web` service (docker-compose passes `-c deploy/gunicorn.conf.py`).

Each worker is a separate process, so self-metrics use prometheus-client's multiprocess mode:
PROMETHEUS_MULTIPROC_DIR points at a directory that is empty when the container starts (a
tmpfs in docker-compose), and `child_exit` marks a dead worker's files so that its live
gauges stop counting. Access logs come from Steward's request-id middleware, in JSON.
"""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# Finish in-flight requests (an Alertmanager delivery) before a worker exits on deploy.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# Recycle workers now and then so that a slow leak cannot grow without bound. Gunicorn's gthread
# worker drops requests when it recycles (connections accepted or kept alive but not answered);
# this one drains them first (ops/gunicorn_worker.py), so recycling loses nothing.
worker_class = "ops.gunicorn_worker.DrainingThreadWorker"
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
# Django, every app and the URL configuration are imported once, in the master: a recycled or
# new worker is a fork, not a second start-up. Without this each recycle cost a worker about a
# second of CPU (every 2,000 requests: ~0.7 ms per request, measured by bench/ingest.py). A
# code change therefore needs a restart of the master (a new container), not a HUP.
preload_app = True
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))
accesslog = None
# Steward writes the access line itself; gunicorn would build its own for nothing on every request.
logger_class = "ops.gunicorn_worker.NoGunicornAccessLogger"
errorlog = "-"
# /dev/shm is memory-backed inside containers; the default /tmp may be a slow overlay.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def when_ready(server: Any) -> None:
    """Import the URL configuration (lazy in Django) in the master, before the first fork."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


# Gunicorn's own lines (start, worker exits, timeouts) in the same JSON as Steward's logs.
if os.environ.get("LOG_FORMAT", "json") == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "core.logs.JsonFormatter"}},
        "filters": {"redact_secrets": {"()": "core.logs.RedactSecretsFilter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["redact_secrets"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": "INFO", "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            # Steward writes the access line itself, with the request id.
            "gunicorn.access": {"level": "WARNING", "handlers": ["console"], "propagate": False},
        },
    }
