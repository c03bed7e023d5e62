"""Celery signal handlers: task outcome metrics, request ids in task logs, worker metrics.

The request id of the web request that enqueued a task travels as a task header, so the
task's log lines carry the same id as the request's. A worker serves its own metrics on
STEWARD_WORKER_METRICS_PORT (Prometheus scrapes it inside the compose network).
"""

from __future__ import annotations

import logging
import os
from contextvars import Token
from typing import TYPE_CHECKING, Any

from celery import signals
from django.conf import settings

from core.logs import clean_request_id, request_id_var
from ops import metrics

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "steward_request_id"
_tokens: dict[str, Token[str]] = {}


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or sender or "unknown")


@signals.before_task_publish.connect(dispatch_uid="ops.request_id_publish")
def request_id_publish(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id != "-":
        headers.setdefault(REQUEST_ID_HEADER, request_id)


def _header(request: Any) -> str | None:
    # A worker turns message headers into request attributes; an eager call keeps them in
    # request.headers.
    value = getattr(request, REQUEST_ID_HEADER, None) or (
        getattr(request, "headers", None) or {}
    ).get(REQUEST_ID_HEADER)
    return value if isinstance(value, str) else None


@signals.task_prerun.connect(dispatch_uid="ops.request_id_prerun")
def request_id_prerun(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    header = clean_request_id(_header(getattr(task, "request", None)))
    # Eagerly run tasks keep the request id already set by the calling request.
    if header is None and request_id_var.get() != "-":
        return
    if task_id:
        _tokens[task_id] = request_id_var.set(header or f"task-{task_id}")


@signals.task_postrun.connect(dispatch_uid="ops.request_id_postrun")
def request_id_postrun(task_id: str | None = None, **kwargs: Any) -> None:
    token = _tokens.pop(task_id or "", None)
    if token is not None:
        request_id_var.reset(token)


@signals.task_success.connect(dispatch_uid="ops.task_success")
def task_success(sender: Any = None, **kwargs: Any) -> None:
    metrics.CELERY_TASKS.labels(task=_task_name(sender), outcome="success").inc()


@signals.task_failure.connect(dispatch_uid="ops.task_failure")
def task_failure(sender: Any = None, **kwargs: Any) -> None:
    metrics.CELERY_TASKS.labels(task=_task_name(sender), outcome="failure").inc()


@signals.task_retry.connect(dispatch_uid="ops.task_retry")
def task_retry(sender: Any = None, **kwargs: Any) -> None:
    metrics.CELERY_TASKS.labels(task=_task_name(sender), outcome="retry").inc()


@signals.worker_init.connect(dispatch_uid="ops.worker_metrics_server")
def worker_metrics_server(**kwargs: Any) -> WSGIServer | None:
    """Serve this container's worker metrics (the database-backed ones are web's job)."""
    port: int = settings.STEWARD_WORKER_METRICS_PORT
    if not port:
        return None
    from prometheus_client import start_http_server

    from ops.exposition import process_registry

    server, _thread = start_http_server(
        port, addr=settings.STEWARD_WORKER_METRICS_ADDRESS, registry=process_registry()
    )
    logger.info("worker metrics served on port %s", port, extra={"port": port})
    return server


@signals.worker_process_shutdown.connect(dispatch_uid="ops.worker_process_dead")
def worker_process_dead(pid: int | None = None, **kwargs: Any) -> None:
    # A prefork child that exits leaves its live-gauge files behind; mark them dead.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]
