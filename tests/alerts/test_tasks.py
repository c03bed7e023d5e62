"""Celery tasks and the debounced receiver, eagerly (no broker), as on the embedded default."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from alerts import tasks
from alerts.models import AlertRule, Evaluation, RuleWeek
from alerts.signals import episodes_changed
from tests.alerts.noise.conftest import WEEK, at, episode
from tests.support.clock import LAST_WEEK, THIS_WEEK

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(tasks, "week_evaluate", lambda *, week, trigger="": seen.append(week))
    return seen


def test_evaluate_week_task_runs_the_service() -> None:
    rule = AlertRule.objects.create(alertname="Rule1")
    episode(rule, at(1), seconds=60)
    tasks.evaluate_week.delay(WEEK)
    assert RuleWeek.objects.get(rule=rule, week=WEEK).fires == 1
    assert Evaluation.objects.get().status == Evaluation.Status.DONE


def test_tasks_have_stable_names_and_safe_delivery_options() -> None:
    for task in (tasks.evaluate_week, tasks.evaluate_current_week, tasks.evaluate_previous_week):
        assert task.name.startswith("steward.evaluate_")
        assert task.acks_late and task.reject_on_worker_lost
        assert task.time_limit and task.soft_time_limit or task is tasks.evaluate_week


def test_evaluate_week_is_bounded_by_the_celery_time_limit_settings() -> None:
    """No per-task override: the worker applies CELERY_TASK_TIME_LIMIT / _SOFT_ to it."""
    assert tasks.evaluate_week.time_limit is None
    assert tasks.evaluate_week.soft_time_limit is None
    assert tasks.evaluate_week.app.conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert tasks.evaluate_week.app.conf.task_soft_time_limit == (
        settings.CELERY_TASK_SOFT_TIME_LIMIT
    )


def test_scheduled_tasks_pick_the_current_and_previous_week(
    calls: list[str], frozen_now: datetime
) -> None:
    tasks.evaluate_current_week.delay()
    tasks.evaluate_previous_week.delay()
    assert calls == [THIS_WEEK, LAST_WEEK]


def test_scheduled_tasks_name_their_tick(
    monkeypatch: pytest.MonkeyPatch, frozen_now: datetime
) -> None:
    seen: list[tuple[str, str]] = []
    monkeypatch.setattr(
        tasks, "week_evaluate", lambda *, week, trigger="": seen.append((week, trigger))
    )
    tasks.evaluate_current_week.delay()
    tasks.evaluate_current_week.delay(slot_seconds=2)
    tasks.evaluate_previous_week.delay()
    hour = frozen_now.strftime("%Y-%m-%dT%H:00Z")
    assert seen[0] == (THIS_WEEK, f"hourly@{hour}")
    assert seen[1][1].startswith(f"hourly@{frozen_now:%Y-%m-%dT%H:%M}:")
    assert seen[2] == (LAST_WEEK, "weekly")


def test_the_same_tick_sent_twice_evaluates_the_week_once(frozen_now: datetime) -> None:
    """Two beats: each sends the Monday and the hourly request; each week is evaluated once."""
    for _ in range(2):
        tasks.evaluate_previous_week.delay()
        tasks.evaluate_current_week.delay()
    runs = Evaluation.objects.values_list("week", "trigger", "status")
    hour = frozen_now.strftime("%Y-%m-%dT%H:00Z")
    assert sorted(runs) == [(LAST_WEEK, "weekly", "done"), (THIS_WEEK, f"hourly@{hour}", "done")]


def test_beat_schedule_runs_hourly_and_monday_morning() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    hourly = schedule["evaluate-current-week"]
    weekly = schedule["evaluate-previous-week"]
    assert hourly["task"] == "steward.evaluate_current_week"
    assert weekly["task"] == "steward.evaluate_previous_week"
    assert str(hourly["schedule"]) == "<crontab: 5 * * * * (m/h/dM/MY/d)>"
    assert str(weekly["schedule"]) == "<crontab: 0 6 * * mon (m/h/dM/MY/d)>"


def test_a_burst_of_deliveries_makes_one_evaluation_per_week(
    calls: list[str], django_capture_on_commit_callbacks: Any
) -> None:
    for _ in range(200):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            transaction.on_commit(
                lambda: episodes_changed.send(sender=None, weeks=[WEEK, "2026-W46"])
            )
    assert sorted(calls) == ["2026-W46", WEEK]


def test_the_receiver_enqueues_with_a_countdown(monkeypatch: pytest.MonkeyPatch) -> None:
    queued: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.evaluate_week, "apply_async", lambda **kw: queued.append(kw))
    episodes_changed.send(sender=None, weeks=[WEEK, WEEK])
    episodes_changed.send(sender=None, weeks=[WEEK])
    assert queued == [{"args": (WEEK,), "countdown": settings.STEWARD_EVALUATION_DEBOUNCE_SECONDS}]


def test_a_worker_clears_the_pending_key_so_later_changes_queue_again(calls: list[str]) -> None:
    key = tasks.PENDING_KEY.format(week=WEEK)
    cache.set(key, 1)
    tasks.evaluate_week.apply(args=(WEEK,))  # eager: the key stays (the debounce window)
    assert cache.get(key) == 1
    request = {"is_eager": False}
    tasks.evaluate_week.push_request(**request)
    try:
        tasks.evaluate_week.run(WEEK)
    finally:
        tasks.evaluate_week.pop_request()
    assert cache.get(key) is None
    assert calls == [WEEK, WEEK]


def test_a_malformed_week_fails_at_once(calls: list[str]) -> None:
    with pytest.raises(ValueError, match="ISO week"):
        tasks.evaluate_week.delay("last week")
    with pytest.raises(ValueError, match="out of range"):
        tasks.evaluate_week.delay("9999-W52")
    with pytest.raises(ValueError, match="ISO week"):
        episodes_changed.send(sender=None, weeks=["nonsense"])
    assert calls == []


def test_in_process_a_busy_week_is_skipped_instead_of_blocking_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # SQLite has no cross-process lock to hold, so the lock's answer is simulated.
    def busy(*, week: str, trigger: str = "") -> None:
        raise tasks.EvaluationBusy(f"An evaluation of {week} is already running.")

    monkeypatch.setattr(tasks, "week_evaluate", busy)
    result = tasks.evaluate_week.apply(args=(WEEK,))
    assert result.successful()


def test_the_visibility_timeout_outlasts_a_held_task_yet_redelivers_within_minutes() -> None:
    """Issue 17, finding 9: with 900 s, a whole-worker SIGKILL left its tasks for 15 minutes.

    A live worker holds a message through its countdown and its run, so anything shorter than
    that would run a task twice; anything much longer only delays recovery from a crash."""
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    longest_countdown = max(
        settings.STEWARD_EVALUATION_DEBOUNCE_SECONDS,
        tasks.BUSY_RETRY_SECONDS,
        tasks.connection_retry_delay(tasks.CONNECTION_RETRIES),
    )
    assert timeout > settings.CELERY_TASK_TIME_LIMIT + longest_countdown
    assert timeout <= 300


def test_a_lost_connection_is_retried_with_a_bounded_backoff() -> None:
    delays = [tasks.connection_retry_delay(n) for n in range(tasks.CONNECTION_RETRIES)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
