"""Signal receivers of the alerts app, connected in AlertsConfig.ready()."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.exceptions import RedisError

from core.outages import BROKER_OUTAGE, CACHE_OUTAGE
from core.weeks import parse_week

logger = logging.getLogger(__name__)

# What an unreachable Redis (cache or broker) raises. The evaluation is derived work: losing one
# enqueue costs a delay (the hourly beat task re-evaluates the running week), while letting the
# error escape would turn an already stored delivery into a 5xx and make Alertmanager resend it.
_REDIS_DOWN = (RedisError, BrokerUnavailable, OSError)


# Weeks whose evaluation this process knows to be queued, until shortly before that run may
# start: {week: time.monotonic() deadline}. A burst then costs one Redis call per week and
# process, not one per delivery. The margin covers clock differences between machines.
_queued_until: dict[str, float] = {}
_MARGIN_SECONDS = 10.0


def enqueue_evaluation(sender: Any, weeks: Iterable[str] = (), **kwargs: Any) -> None:
    """Debounced re-evaluation of the weeks a delivery changed.

    The first change of a week adds a cache key and queues one evaluation STEWARD_EVALUATION_
    DEBOUNCE_SECONDS later; further changes while the key exists are covered by that run, so a
    burst of 200 deliveries makes one evaluation, not 200. The worker deletes the key when it
    starts, so changes made during the run queue the next one. Each process also remembers
    the queued run until shortly before it starts (`_queued_until`), so a burst asks Redis
    once per week and process instead of once per delivery. With no broker (eager), the key
    simply expires: one evaluation per window, in-process.

    Redis down: skipped (see _REDIS_DOWN), logged once per outage (`core.outages`); the next
    delivery after it returns, or the hourly `steward.evaluate_current_week`, catches up.
    """
    from alerts.tasks import PENDING_KEY, evaluate_week

    delay = settings.STEWARD_EVALUATION_DEBOUNCE_SECONDS
    # Queued runs start `delay` seconds later and delete the key first; in-process (eager)
    # runs happen at once, so there is nothing to remember.
    remember = delay > 0 and not settings.CELERY_TASK_ALWAYS_EAGER
    margin = min(_MARGIN_SECONDS, delay / 2)
    for week in sorted(set(weeks)):
        parse_week(week)
        if remember and _queued_until.get(week, 0.0) > time.monotonic():
            continue
        key = PENDING_KEY.format(week=week)
        starts = time.time() + delay  # the key's value: when the queued run may start
        try:
            added = cache.add(key, starts, timeout=2 * delay + 30)
        except _REDIS_DOWN as error:
            message = "evaluation of %s not enqueued: cache unavailable"
            CACHE_OUTAGE.failure(logger, message, week, error=error)
            continue
        CACHE_OUTAGE.success(logger)
        if not added:
            if remember:
                _remember_queued(key, week, margin)
            continue
        try:
            evaluate_week.apply_async(args=(week,), countdown=delay)
        except _REDIS_DOWN as error:
            message = "evaluation of %s not enqueued: broker unavailable"
            BROKER_OUTAGE.failure(logger, message, week, error=error)
            # Let the next delivery try again instead of waiting for the key to expire.
            try:
                cache.delete(key)
            except _REDIS_DOWN:
                pass
            continue
        BROKER_OUTAGE.success(logger)
        if remember:
            _queued_until[week] = time.monotonic() + delay - margin


def _remember_queued(key: str, week: str, margin: float) -> None:
    """Another process queued the week's run: remember it until shortly before that run."""
    try:
        starts = cache.get(key)
    except _REDIS_DOWN:
        return
    if isinstance(starts, float):
        _queued_until[week] = time.monotonic() + (starts - time.time()) - margin
