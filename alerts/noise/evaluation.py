"""`week_evaluate`: compute and store one ISO week's statistics, co-firing pairs and flags.

1. Take the week's lock (`locking.week_lock`); evaluations left "running" by a killed worker
   are marked failed, since holding the lock proves nobody is running them. A scheduled
   request (a `trigger` such as `hourly@…`) claims its (week, trigger) first: when another
   worker already ran or runs it — two beats, or the same tick received twice — this one
   raises `AlreadyEvaluated` instead of evaluating the week a second time.
2. Read, set-based, with a fixed number of queries: statistics, the 4 previous weeks' fires,
   co-firing pairs, catalog facts.
3. Derive flags in Python (linear in the rows read, no queries).
4. In ONE transaction delete the week's RuleWeek, RuleFlag and CoFiring rows and insert the new
   ones (one INSERT per table), so readers see either the old week or the new one.
5. Record the Evaluation and send `evaluation_finished`.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from alerts.models import CoFiring, Evaluation, RuleFlag, RuleWeek
from alerts.noise import flags as flag_rules
from alerts.noise.catalog import rule_facts
from alerts.noise.cofiring import Pair, week_cofiring
from alerts.noise.flags import RaisedFlag, RuleFacts
from alerts.noise.locking import AlreadyEvaluated, week_lock
from alerts.noise.sql import insert_rows
from alerts.noise.statistics import RuleStats, previous_weeks_fires, week_statistics
from alerts.signals import evaluation_finished, evaluation_writing
from core.weeks import week_bounds

logger = logging.getLogger(__name__)

_WEEK_COLUMNS = [
    "rule",
    "week",
    "fires",
    "firing_seconds",
    "median_duration_seconds",
    "engaged_ratio",
    "transient_ratio",
    "flaps",
    "interruptions_business",
    "interruptions_off",
    "interruptions_sleep",
    "feedback_count",
    "actionable_ratio",
    "longest_open_seconds",
    "evaluated_at",
]


def week_evaluate(*, week: str, now: datetime | None = None, trigger: str = "") -> Evaluation:
    """Evaluate `week` (e.g. "2026-W47") and replace its stored results. Raises ValueError on a
    malformed week, `EvaluationBusy` when the week is being evaluated elsewhere, and
    `AlreadyEvaluated` when `trigger` (a scheduled run) was already carried out for the week."""
    start, end = week_bounds(week)
    now = now or timezone.now()
    clock = time.monotonic()
    if trigger and _claimed(week, trigger):
        # Checked before the lock, so a duplicate that arrives while the first one runs is
        # dropped at once instead of waiting for the week to be free.
        raise AlreadyEvaluated(f"{week} was already evaluated for {trigger}.")
    with week_lock(week):
        Evaluation.objects.filter(week=week, status=Evaluation.Status.RUNNING).update(
            status=Evaluation.Status.FAILED,
            finished_at=now,
            error="Abandoned: the worker stopped before finishing.",
        )
        # started_at is read after the lock is held, so that the intervals of two evaluations
        # of one week never overlap, even when this one was requested while another ran.
        # Only a trigger can collide (evaluation_once_per_trigger); its INSERT gets a
        # savepoint so that a refused claim leaves an enclosing transaction usable.
        try:
            with transaction.atomic() if trigger else nullcontext():
                evaluation = Evaluation.objects.create(
                    week=week,
                    status=Evaluation.Status.RUNNING,
                    trigger=trigger,
                    requested_at=now,
                    started_at=timezone.now(),
                )
        except IntegrityError as taken:  # claimed by another worker meanwhile
            raise AlreadyEvaluated(f"{week} was already evaluated for {trigger}.") from taken
        try:
            rules, raised = _evaluate(week=week, start=start, end=end, now=now)
        except Exception as error:
            evaluation.status = Evaluation.Status.FAILED
            evaluation.error = f"{type(error).__name__}: {error}"[:2000]
            _finish(evaluation, clock)
            raise
        evaluation.status = Evaluation.Status.DONE
        evaluation.rules_evaluated = rules
        evaluation.flags_raised = raised
        _finish(evaluation, clock)
    return evaluation


def _claimed(week: str, trigger: str) -> bool:
    return (
        Evaluation.objects.filter(week=week, trigger=trigger)
        .exclude(status=Evaluation.Status.FAILED)
        .exists()
    )


def _finish(evaluation: Evaluation, clock: float) -> None:
    evaluation.finished_at = timezone.now()
    evaluation.save(
        update_fields=["status", "error", "rules_evaluated", "flags_raised", "finished_at"]
    )
    duration = time.monotonic() - clock
    logger.info("evaluation %s %s in %.2fs", evaluation.week, evaluation.status, duration)
    evaluation_finished.send(sender=Evaluation, evaluation=evaluation, duration_seconds=duration)


def _evaluate(*, week: str, start: datetime, end: datetime, now: datetime) -> tuple[int, int]:
    as_of = min(now, end)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The week's sorts and hash aggregates (hundreds of thousands of episodes) would
            # spill to disk with the 4 MB default; this transaction only.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '128MB'")
        stats = week_statistics(start=start, end=end, now=now)
        previous = previous_weeks_fires(start=start)
        pairs = week_cofiring(start=start, end=end)
        facts = rule_facts(as_of=as_of)
        evaluated = sorted(set(stats) | {pk for pk, fact in facts.items() if fact.in_catalog})
        raised = _flags(evaluated, stats, previous, pairs, facts, as_of=as_of)
        RuleWeek.objects.filter(week=week).delete()
        RuleFlag.objects.filter(week=week).delete()
        CoFiring.objects.filter(week=week).delete()
        evaluation_writing.send(sender=Evaluation, week=week)
        insert_rows(RuleWeek, _WEEK_COLUMNS, _week_rows(week, evaluated, stats, now))
        insert_rows(
            RuleFlag,
            ["rule", "week", "flag", "evidence", "message", "created_at"],
            [(f.rule_id, week, f.flag, f.evidence, f.message[:300], now) for f in raised],
        )
        insert_rows(
            CoFiring,
            ["week", "rule", "other", "episodes", "co_fired", "ratio"],
            [(week, p.rule_id, p.other_id, p.episodes, p.co_fired, p.ratio) for p in pairs],
        )
    return len(evaluated), len(raised)


def _flags(
    evaluated: list[int],
    stats: dict[int, RuleStats],
    previous: dict[int, list[int]],
    pairs: list[Pair],
    facts: dict[int, RuleFacts],
    *,
    as_of: datetime,
) -> list[RaisedFlag]:
    raised: list[RaisedFlag] = []
    for rule_id in evaluated:
        rule_stats = stats.get(rule_id)
        fact = facts.get(rule_id)
        if rule_stats is not None:
            noisy = flag_rules.noisy_flag(rule_stats, previous.get(rule_id, [0, 0, 0, 0]))
            raised.extend([noisy] if noisy else [])
            raised.extend(flag_rules.statistic_flags(rule_stats, fact))
        if fact is not None:
            fires = rule_stats.fires if rule_stats else 0
            raised.extend(flag_rules.catalog_flags(fact, fires=fires, as_of=as_of))
    names = {pk: fact.name for pk, fact in facts.items()}
    raised.extend(flag_rules.duplicate_flags(pairs, names))
    return raised


def _week_rows(
    week: str, evaluated: list[int], stats: dict[int, RuleStats], now: datetime
) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for rule_id in evaluated:
        s = stats.get(rule_id) or RuleStats(
            rule_id, 0, 0.0, None, None, None, 0, 0, 0, 0, 0, None, 0.0
        )
        rows.append(
            (
                rule_id,
                week,
                s.fires,
                s.firing_seconds,
                s.median_duration_seconds,
                s.engaged_ratio,
                s.transient_ratio,
                s.flaps,
                s.interruptions_business,
                s.interruptions_off,
                s.interruptions_sleep,
                s.feedback_count,
                s.actionable_ratio,
                s.longest_open_seconds,
                now,
            )
        )
    return rows
