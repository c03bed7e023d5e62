"""Signal receivers of the alerts app, connected in AlertsConfig.ready()."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache

from alerts.weeks import parse_week


def enqueue_evaluation(sender: Any, weeks: Iterable[str] = (), **kwargs: Any) -> None:
    """Debounced re-evaluation of the weeks a delivery changed.

    The first change of a week adds a cache key and queues one evaluation STEWARD_EVALUATION_
    DEBOUNCE_SECONDS later; further changes while the key exists are covered by that run, so a
    burst of 200 deliveries makes one evaluation, not 200. The worker deletes the key when it
    starts, so changes made during the run queue the next one. With no broker (eager), the key
    simply expires: one evaluation per window, in-process.
    """
    from alerts.tasks import PENDING_KEY, evaluate_week

    delay = settings.STEWARD_EVALUATION_DEBOUNCE_SECONDS
    for week in sorted(set(weeks)):
        parse_week(week)
        if cache.add(PENDING_KEY.format(week=week), 1, timeout=2 * delay + 30):
            evaluate_week.apply_async(args=(week,), countdown=delay)
