"""Signal receivers of the alerts app, connected in AlertsConfig.ready()."""

from __future__ import annotations

import logging
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


def enqueue_evaluation(sender: Any, weeks: Iterable[str] = (), **kwargs: Any) -> None:
    """Debounced re-evaluation of the weeks a delivery changed.

    The first change of a week adds a cache key and queues one evaluation STEWARD_EVALUATION_
    DEBOUNCE_SECONDS later; further changes while the key exists are covered by that run, so a
    burst of 200 deliveries makes one evaluation, not 200. The worker deletes the key when it
    starts, so changes made during the run queue the next one. With no broker (eager), the key
    simply expires: one evaluation per window, in-process.

    Redis down: skipped (see _REDIS_DOWN), logged once per outage (`core.outages`); the next
    delivery after it returns, or the hourly `steward.evaluate_current_week`, catches up.
    """
    from alerts.tasks import PENDING_KEY, evaluate_week

    delay = settings.STEWARD_EVALUATION_DEBOUNCE_SECONDS
    for week in sorted(set(weeks)):
        parse_week(week)
        key = PENDING_KEY.format(week=week)
        try:
            added = cache.add(key, 1, timeout=2 * delay + 30)
        except _REDIS_DOWN as error:
            message = "evaluation of %s not enqueued: cache unavailable"
            CACHE_OUTAGE.failure(logger, message, week, error=error)
            continue
        CACHE_OUTAGE.success(logger)
        if not added:
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
