from __future__ import annotations

import logging
from typing import Any

import pytest
from celery import Celery
from prometheus_client import REGISTRY

from core.logs import request_id_var
from ops.celery_hooks import REQUEST_ID_HEADER, request_id_publish


def outcome(task: str, result: str) -> float:
    return (
        REGISTRY.get_sample_value("steward_celery_tasks_total", {"task": task, "outcome": result})
        or 0.0
    )


@pytest.fixture
def app() -> Celery:
    app = Celery("steward-test", set_as_current=False)
    app.conf.task_always_eager = True
    return app


def test_task_outcomes_are_counted_by_name(app: Celery) -> None:
    @app.task(name="steward.test_ok")
    def ok() -> int:
        return 1

    @app.task(name="steward.test_boom")
    def boom() -> None:
        raise RuntimeError("boom")

    before_ok = outcome("steward.test_ok", "success")
    before_boom = outcome("steward.test_boom", "failure")
    ok.apply()
    boom.apply()
    assert outcome("steward.test_ok", "success") == before_ok + 1
    assert outcome("steward.test_boom", "failure") == before_boom + 1


def test_retries_are_counted(app: Celery) -> None:
    @app.task(name="steward.test_retry", bind=True, max_retries=1, default_retry_delay=0)
    def flaky(self: Any) -> None:
        if self.request.retries == 0:
            raise self.retry(exc=RuntimeError("again"))

    before = outcome("steward.test_retry", "retry")
    flaky.apply()
    assert outcome("steward.test_retry", "retry") == before + 1


def test_publishing_adds_the_request_id_header() -> None:
    headers: dict[str, Any] = {}
    token = request_id_var.set("req-9")
    try:
        request_id_publish(headers=headers)
    finally:
        request_id_var.reset(token)
    assert headers[REQUEST_ID_HEADER] == "req-9"


def test_task_logs_carry_the_request_id_from_the_header(
    app: Celery, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    @app.task(name="steward.test_log")
    def log_something() -> None:
        seen.append(request_id_var.get())
        logging.getLogger("steward.test").info("inside")

    # A worker sees the publisher's headers as attributes of task.request.
    log_something.apply(headers={REQUEST_ID_HEADER: "req-from-web"})
    assert seen == ["req-from-web"]
    assert request_id_var.get() == "-"

    log_something.apply()
    assert seen[1].startswith("task-")
