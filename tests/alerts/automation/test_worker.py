"""The real Celery worker (PostgreSQL lane) executes a guarded run; acks_late redelivery of a
finished run does nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User

from alerts.automation import services, tasks
from alerts.automation.models import Action, ActionRun
from alerts.models import AlertRule, Episode
from tests.alerts import test_tasks_worker
from tests.support.webhook import WebhookServer

# The worker fixtures of the evaluation tests: a Redis broker and `celery -A config worker`.
broker = test_tasks_worker.broker
start_worker = test_tasks_worker.start_worker

pytestmark = [pytest.mark.services, pytest.mark.timeout(150)]


def _wait_for(condition: Callable[[], Any], *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {seconds}s waiting for {what}")


def test_a_worker_executes_a_run_once(
    start_worker: Callable[..., subprocess.Popen[bytes]],
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: User,
) -> None:
    assert not tasks.execute_run.app.conf.task_always_eager
    start_worker(
        STEWARD_AUTOMATION_ALLOWED_HOSTS="127.0.0.1",
        STEWARD_OUTBOUND_ALLOW_NETWORKS="127.0.0.1/32",
    )
    action = make_action(f"{receiver.url}/shift", verify_resolution_seconds=30)
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    run = services.run_trigger(action=action, episode=episode, user=member)
    assert run.state == ActionRun.State.QUEUED  # the worker runs it, not this process

    def finished() -> bool:
        run.refresh_from_db()
        return run.state == ActionRun.State.SUCCEEDED

    _wait_for(finished, seconds=45, what="the worker to run the action")
    [request] = receiver.received
    assert request.signature_valid is True
    assert run.verification == ActionRun.Verification.PENDING

    # The alert resolves: the worker's verification task sees it.
    Episode.objects.filter(pk=episode.pk).update(ends_at=run.finished_at)

    def verified() -> bool:
        run.refresh_from_db()
        return run.verification == ActionRun.Verification.RESOLVED

    _wait_for(verified, seconds=30, what="the worker's verification")

    # A redelivered message (acks_late) for the finished run sends nothing.
    tasks.execute_run.delay(run.pk)
    time.sleep(2)
    assert len(receiver.received) == 1


def test_a_worker_killed_mid_request_is_redelivered_with_the_same_idempotency_key(
    start_worker: Callable[..., subprocess.Popen[bytes]],
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: User,
) -> None:
    """acks_late: the message of a run whose worker died is delivered again; the run is sent
    again (at least once) under the same X-Steward-Idempotency-Key, and finishes once."""
    env = {
        "STEWARD_AUTOMATION_ALLOWED_HOSTS": "127.0.0.1",
        "STEWARD_OUTBOUND_ALLOW_NETWORKS": "127.0.0.1/32",
    }
    receiver.behaviour.delay = 4.0
    doomed = start_worker(**env)
    action = make_action(f"{receiver.url}/shift")
    run = services.run_trigger(
        action=action, episode=make_episode(rule, labels={"model": "m"}), user=member
    )
    _wait_for(lambda: receiver.behaviour.in_flight == 1, seconds=45, what="the request")
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=10)
    run.refresh_from_db()
    assert run.state == ActionRun.State.RUNNING
    time.sleep(test_tasks_worker.VISIBILITY_TIMEOUT + 1)
    receiver.behaviour.delay = 0
    start_worker(**env)

    def finished() -> bool:
        run.refresh_from_db()
        return run.state == ActionRun.State.SUCCEEDED

    _wait_for(finished, seconds=60, what="the redelivered run")
    assert run.tries == 2
    keys = {r.headers["X-Steward-Idempotency-Key"] for r in receiver.received}
    assert len(receiver.received) == 2
    assert keys == {f"{action.pk}-{run.episode_id}-1"}
