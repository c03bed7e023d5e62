"""One Redis call per week and process for a burst of deliveries, not one per delivery
(issue 18), without ever skipping a change that the queued run would not see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import override_settings

from alerts import receivers, tasks
from alerts.signals import episodes_changed
from tests.alerts.noise.conftest import WEEK

pytestmark = pytest.mark.django_db
LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


class CountingCache:
    """The real cache, counting the calls the receiver makes."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(cache, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return method(*args, **kwargs)

        return counted


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """LocMemCache keeps its keys across override_settings: no pending key from another test."""
    with override_settings(CACHES=LOCAL):
        cache.clear()
        yield
        cache.clear()


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(tasks.evaluate_week, "apply_async", lambda **kw: sent.append(kw))
    return sent


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> CountingCache:
    counter = CountingCache()
    monkeypatch.setattr(receivers, "cache", counter)
    return counter


@override_settings(
    CACHES=LOCAL, CELERY_TASK_ALWAYS_EAGER=False, STEWARD_EVALUATION_DEBOUNCE_SECONDS=60
)
def test_a_burst_asks_the_cache_once(queued: list[Any], counting: CountingCache) -> None:
    for _ in range(200):
        episodes_changed.send(sender=None, weeks=[WEEK])
    assert counting.calls == ["add"]
    assert queued == [{"args": (WEEK,), "countdown": 60}]


@override_settings(
    CACHES=LOCAL, CELERY_TASK_ALWAYS_EAGER=False, STEWARD_EVALUATION_DEBOUNCE_SECONDS=60
)
def test_a_run_queued_by_another_process_is_read_once(
    queued: list[Any], counting: CountingCache
) -> None:
    import time

    cache.set(tasks.PENDING_KEY.format(week=WEEK), time.time() + 30)
    for _ in range(50):
        episodes_changed.send(sender=None, weeks=[WEEK])
    assert counting.calls == ["add", "get"]
    assert queued == []
    # remembered until 10 s before that run may start, not longer
    remaining = receivers._queued_until[WEEK] - time.monotonic()
    assert 15 < remaining <= 20


@override_settings(
    CACHES=LOCAL, CELERY_TASK_ALWAYS_EAGER=False, STEWARD_EVALUATION_DEBOUNCE_SECONDS=60
)
def test_once_the_run_may_start_changes_queue_the_next(
    queued: list[Any], counting: CountingCache
) -> None:
    episodes_changed.send(sender=None, weeks=[WEEK])
    # The run starts (it deletes the key) no earlier than 60 s later; the process stops
    # trusting its memory 10 s before that.
    receivers._queued_until[WEEK] -= 50
    cache.delete(tasks.PENDING_KEY.format(week=WEEK))
    episodes_changed.send(sender=None, weeks=[WEEK])
    assert len(queued) == 2


@override_settings(CACHES=LOCAL, STEWARD_EVALUATION_DEBOUNCE_SECONDS=60)
def test_in_process_evaluation_remembers_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr(tasks, "week_evaluate", lambda *, week, **_: ran.append(week))
    episodes_changed.send(sender=None, weeks=[WEEK])
    assert ran == [WEEK]
    assert receivers._queued_until == {}
