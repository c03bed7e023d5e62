"""Celery tasks: thin, named, idempotent (each replaces a week's results), acks_late.

A task takes a week string, calls one service and returns nothing: the results live in the
database, so a redelivered or repeated task only recomputes the same rows.

The scheduled tasks name their tick (`trigger`): `hourly@<the hour>` for the running week,
`weekly` for last week. A week is evaluated once per trigger (alerts.noise.locking
`AlreadyEvaluated`), so two beats, or two workers given the same tick, cost one evaluation.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from celery import shared_task
from celery.app.task import Task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from alerts.models import Evaluation
from alerts.noise.evaluation import week_evaluate
from alerts.noise.locking import AlreadyEvaluated, EvaluationBusy
from alerts.retention.services import retention_apply as apply_retention
from core.database import DATABASE_UNAVAILABLE
from core.weeks import current_week, parse_week, week_shift

# While this key exists a re-evaluation of the week is already queued (see alerts.receivers).
PENDING_KEY = "steward:evaluation-pending:{week}"

logger = logging.getLogger(__name__)

# A lost database connection (restart, failover, a reaped backend) is retried 1, 2, 4 … 60 s
# later, at most this many times (about 3 minutes in all); after that the hourly beat catches up.
CONNECTION_RETRIES = 8
CONNECTION_BACKOFF_MAX_SECONDS = 60
# The busy case waits for the running evaluation of the same week.
BUSY_RETRY_SECONDS = 30
# ... except a scheduled request's first retry: when two workers got the same tick at the same
# moment, the lock holder is usually running that very tick, and has recorded its claim by
# then, so the duplicate is dropped within seconds instead of waiting in the queue.
BUSY_FIRST_RETRY_SECONDS = 2

# Every task: acknowledged after it ran (acks_late) and requeued if its worker dies
# (reject_on_worker_lost), which is safe because the tasks are idempotent; bounded in time.
# evaluate_week sets no limits of its own, so CELERY_TASK_TIME_LIMIT / _SOFT_ bound it; the
# two scheduling tasks only enqueue, so they keep tighter limits.


@shared_task(
    bind=True,
    name="steward.evaluate_week",
    max_retries=20,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def evaluate_week(self: Task[Any, Any], week: str, trigger: str = "") -> None:
    parse_week(week)  # a malformed week fails at once, without retries
    if not self.request.is_eager:
        # Changes that arrive from now on need another run: let them enqueue it.
        cache.delete(PENDING_KEY.format(week=week))
    try:
        week_evaluate(week=week, trigger=trigger)
    except AlreadyEvaluated as done:
        logger.info("%s", done)
        return
    except EvaluationBusy as busy:
        if self.request.is_eager:
            # In-process (no broker): retrying would block the request that triggered it. The
            # running evaluation's successor, the next delivery, picks up what it missed.
            logger.info("evaluation of %s already running; not waiting for it", week)
            return
        # Another worker is evaluating this week with possibly older data: run after it.
        first = trigger and self.request.retries == 0
        countdown = BUSY_FIRST_RETRY_SECONDS if first else BUSY_RETRY_SECONDS
        raise self.retry(exc=busy, countdown=countdown) from busy
    except DATABASE_UNAVAILABLE as lost:
        # The week's transaction rolled back and its lock went with the connection; Celery's
        # Django fixup replaces the unusable connection before the next attempt.
        attempt = self.request.retries
        if self.request.is_eager or attempt >= CONNECTION_RETRIES:
            raise
        countdown = connection_retry_delay(attempt)
        logger.warning(
            "evaluation of %s: database connection lost (%s); retry %d/%d in %d s",
            week,
            type(lost).__name__,
            attempt + 1,
            CONNECTION_RETRIES,
            countdown,
        )
        raise self.retry(exc=lost, countdown=countdown) from lost


def connection_retry_delay(attempt: int) -> int:
    """Seconds before retry number `attempt + 1` after a lost connection: 1, 2, 4 … 60."""
    return int(
        get_exponential_backoff_interval(
            factor=1, retries=attempt, maximum=CONNECTION_BACKOFF_MAX_SECONDS, full_jitter=False
        )
    )


@shared_task(
    name="steward.evaluate_current_week",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
    ignore_result=True,
)
def evaluate_current_week(slot_seconds: int = 3600) -> None:
    """Hourly (beat): the running week. Every request within one `slot_seconds` period (the
    schedule's) is the same tick: one evaluation, however many beats sent it."""
    evaluate_week.delay(current_week(), trigger=f"hourly@{schedule_slot(slot_seconds)}")


@shared_task(
    name="steward.evaluate_previous_week",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
    ignore_result=True,
)
def evaluate_previous_week() -> None:
    """Monday morning (beat): last week once more, once."""
    evaluate_week.delay(week_shift(current_week(), -1), trigger=Evaluation.WEEKLY_TRIGGER)


def schedule_slot(seconds: int) -> str:
    """The start of the current `seconds`-long period in UTC, e.g. "2026-12-04T18:00Z"."""
    now = int(timezone.now().timestamp())
    start = datetime.fromtimestamp(now - now % max(1, seconds), tz=UTC)
    return start.strftime("%Y-%m-%dT%H:%M") + (f":{start:%S}Z" if seconds % 60 else "Z")


@shared_task(
    name="alerts.retention_apply",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def retention_apply() -> None:
    """Daily: trim what is past retention (alerts/retention/services.py); batched, resumable.

    Within the usual task time limits (so a redelivery never overlaps a running trim): it stops
    starting batches at 80 % of the soft limit, and the next run continues."""
    apply_retention(seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT * 0.8)
