"""Automatic triggers: episodes a delivery opened schedule their rule's automatic actions.

Connected to `alerts.signals.episodes_changed` (sent after the delivery commits). The ingest hot
path pays one cache round trip per process and second (one MGET: pending verifications, rules
with automatic actions) when no rule has an automatic action; otherwise one query finds the
opened episodes of those rules and one their actions.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import defaultdict
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models.signals import post_delete, post_save

from alerts.automation import guardrails, services
from alerts.automation.models import Action
from alerts.models import AlertRule, Episode

logger = logging.getLogger(__name__)

RULES_CACHE_SECONDS = 60


def automatic_rule_ids(cached: object = None) -> frozenset[int]:
    """Rules whose runbook has an enabled automatic action (cached; forgotten on changes).

    `cached`: the cache's value when the caller already read it (None: read it here)."""
    if cached is None:
        try:
            cached = cache.get(services.AUTOMATIC_RULES_KEY)
        except Exception:  # noqa: BLE001 (Redis down: ask the database)
            cached = None
    if isinstance(cached, list | tuple | set | frozenset):
        return frozenset(cached)
    ids = frozenset(
        AlertRule.objects.filter(
            runbook__automation_actions__trigger=Action.Trigger.AUTOMATIC,
            runbook__automation_actions__disabled=False,
        ).values_list("pk", flat=True)
    )
    with contextlib.suppress(Exception):  # Redis down: it expires, or beat settles
        cache.set(services.AUTOMATIC_RULES_KEY, sorted(ids), timeout=RULES_CACHE_SECONDS)
        services.flags_remember(services.AUTOMATIC_RULES_KEY, sorted(ids))
    return ids


def schedule_automatic_triggers(sender: Any, opened_by: int | None = None, **kwargs: Any) -> None:
    from alerts.automation.tasks import automatic_trigger

    # This runs after every delivery that changed episodes: the questions (is a verification
    # pending, is a delayed trigger waiting, which rules have automatic actions) cost one cache
    # round trip, at most one per process and second (`services.automation_flags`). Redis
    # down: no settling now, the rules from the database.
    cached = services.automation_flags()
    if cached is not None and cached.get(services.VERIFICATIONS_PENDING_KEY):
        # A delivery may have closed an episode a run waits for (needed in eager mode, where no
        # verification task waits in a queue).
        services.verifications_settle()
    if cached is not None and cached.get(services.TRIGGERS_PENDING_KEY):
        # Eager mode: delayed automatic triggers whose delay ran out (besides the timers
        # below); with a broker the delayed task does it.
        services.automatic_triggers_due()
    if opened_by is None:
        return
    rule_ids = automatic_rule_ids((cached or {}).get(services.AUTOMATIC_RULES_KEY))
    if not rule_ids:
        return
    episodes = list(
        Episode.objects.filter(
            first_delivery_id=opened_by, rule_id__in=rule_ids, ends_at=None
        ).select_related("rule")
    )
    if not episodes:
        return
    actions_by_runbook: dict[int, list[Action]] = defaultdict(list)
    for action in Action.objects.filter(
        runbook_id__in={e.rule.runbook_id for e in episodes},
        trigger=Action.Trigger.AUTOMATIC,
        disabled=False,
    ):
        actions_by_runbook[action.runbook_id].append(action)
    for episode in episodes:
        for action in actions_by_runbook.get(episode.rule.runbook_id or 0, []):
            if not guardrails.label_filter_matches(action.label_filter, episode.labels):
                continue
            if action.auto_delay_seconds and settings.CELERY_TASK_ALWAYS_EAGER:
                # An eager task would run at once, ignoring the countdown: record the schedule.
                services.automatic_trigger_schedule(action=action, episode=episode)
                _check_due_in(action.auto_delay_seconds)
                continue
            try:
                automatic_trigger.apply_async(
                    args=(action.pk, episode.pk), countdown=action.auto_delay_seconds
                )
            except Exception as error:  # noqa: BLE001 (broker down: logged, never a 5xx)
                logger.warning(
                    "automatic trigger of action %s for episode %s not scheduled: %s",
                    action.pk,
                    episode.pk,
                    type(error).__name__,
                )


# Eager mode's timers (daemon threads of this process): each checks once when a delay runs out.
_timers: set[threading.Timer] = set()
_timers_lock = threading.Lock()
TIMER_MARGIN_SECONDS = 0.5


def _check_due_in(seconds: float) -> None:
    """Check the scheduled triggers in this process when the delay has run out. The schedule
    is in the database: a restart loses the timer, not the trigger (the next delivery that
    changes an episode checks too)."""
    timer = threading.Timer(seconds + TIMER_MARGIN_SECONDS, _check_due_now)
    timer.daemon = True
    with _timers_lock:
        _timers.add(timer)
    timer.start()


def _check_due_now() -> None:
    try:
        services.automatic_triggers_due()
    except Exception:  # a thread must not die noisily; the next delivery checks again
        logger.exception("scheduled automatic triggers not checked")
    finally:
        connection.close()  # this thread's own connection
        with _timers_lock:
            _timers.difference_update({t for t in _timers if not t.is_alive()})


def timers_cancel() -> None:
    """Stop the waiting timers (tests, and a process that shuts down)."""
    with _timers_lock:
        for timer in _timers:
            timer.cancel()
        _timers.clear()


def _forget(sender: Any, **kwargs: Any) -> None:
    services._automatic_rules_forget()


def connect_cache_invalidation() -> None:
    for model in (Action, AlertRule):
        post_save.connect(_forget, sender=model, dispatch_uid=f"automation.forget.{model.__name__}")
        post_delete.connect(
            _forget, sender=model, dispatch_uid=f"automation.forget_del.{model.__name__}"
        )
