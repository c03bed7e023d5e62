"""Retention: raw bodies, deliveries, episodes and engagement/feedback are kept for a bounded time.

`retention_apply` is run daily by the beat task `alerts.retention_apply` and by
`manage.py apply_retention [--dry-run]`. It works in batches of STEWARD_RETENTION_BATCH rows,
each in its own short transaction, so ingest never waits on it for long; a run stopped half-way
leaves a consistent database and the next run continues where it stopped (idempotent).

Order, so that nothing survives that points at a trimmed row:
1. (PostgreSQL) partitions for this month and the next ones exist (alerts/retention/partitions.py).
2. Engagement and feedback older than their retention are deleted.
3. Episodes that started before their retention: whole monthly partitions are dropped on
   PostgreSQL (their engagement and feedback deleted first), the rest (default partition, the
   partial month, SQLite) in batches, children first.
4. Deliveries: older than their retention are deleted (partitions dropped whole on PostgreSQL;
   episodes' `first_delivery` set to null first, as the ORM's SET_NULL would), then the raw
   bodies of older-than-body-retention deliveries are blanked (the row, counts and error stay).

Kept beyond retention, computed from episodes while they existed: the weekly statistics and
flags (RuleWeek, RuleFlag, CoFiring, Evaluation), review decisions and the scorecard snapshots.
None of them has a foreign key to a delivery, an episode, engagement or feedback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from alerts.automation.models import ActionRun
from alerts.models import Delivery, Engagement, Episode, Feedback
from alerts.retention import partitions as parts

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """Days to keep each kind of data; 0 keeps it forever."""

    body_days: int
    deliveries_days: int
    episodes_days: int
    feedback_days: int
    batch_size: int
    # After each batch (and each dropped month) the run rests this many times as long as the
    # batch took, leaving the database to ingest: a daily task has time, ingest latency has not.
    rest_ratio: float = 1.0

    @classmethod
    def from_settings(cls) -> RetentionPolicy:
        return cls(
            body_days=settings.STEWARD_RETAIN_DELIVERY_BODY_DAYS,
            deliveries_days=settings.STEWARD_RETAIN_DELIVERIES_DAYS,
            episodes_days=settings.STEWARD_RETAIN_EPISODES_DAYS,
            feedback_days=settings.STEWARD_RETAIN_FEEDBACK_DAYS,
            batch_size=settings.STEWARD_RETENTION_BATCH,
        )


@dataclass(slots=True)
class RetentionReport:
    dry_run: bool
    bodies_blanked: int = 0
    deliveries_deleted: int = 0
    episodes_deleted: int = 0
    engagements_deleted: int = 0
    automation_runs_deleted: int = 0
    feedback_deleted: int = 0
    partitions_created: list[str] = field(default_factory=list)
    partitions_dropped: list[str] = field(default_factory=list)
    cutoffs: dict[str, datetime] = field(default_factory=dict)
    # (step, seconds from the run's start when it began, when it ended), for the benchmark.
    phases: list[tuple[str, float, float]] = field(default_factory=list)
    # False when the run stopped at its deadline; the next run continues.
    finished: bool = True

    def lines(self) -> list[str]:
        verb = "would" if self.dry_run else "did"
        state = "dry run" if self.dry_run else "applied" if self.finished else "stopped at deadline"
        out = [f"retention ({state}):"]
        for name, cutoff in self.cutoffs.items():
            out.append(f"  {name}: before {cutoff.isoformat()}")
        out += [
            f"  raw bodies blanked ({verb}): {self.bodies_blanked}",
            f"  deliveries deleted ({verb}): {self.deliveries_deleted}",
            f"  episodes deleted ({verb}): {self.episodes_deleted}"
            + (" (dropped months: as of their last ANALYZE)" if self.partitions_dropped else ""),
            f"  engagements deleted ({verb}): {self.engagements_deleted}",
            f"  feedback deleted ({verb}): {self.feedback_deleted}",
            f"  partitions created ({verb}): {', '.join(self.partitions_created) or '-'}",
            f"  partitions dropped ({verb}): {', '.join(self.partitions_dropped) or '-'}",
        ]
        return out


def _cutoff(now: datetime, days: int) -> datetime | None:
    return now - timedelta(days=days) if days > 0 else None


class _OutOfTime(Exception):
    pass


def retention_apply(
    *,
    now: datetime | None = None,
    policy: RetentionPolicy | None = None,
    dry_run: bool = False,
    seconds: float | None = None,
) -> RetentionReport:
    """Trim what is past retention; with `seconds`, stop starting batches after that long."""
    now = now or timezone.now()
    policy = policy or RetentionPolicy.from_settings()
    report = RetentionReport(dry_run=dry_run)
    body_cut = _cutoff(now, policy.body_days)
    delivery_cut = _cutoff(now, policy.deliveries_days)
    episode_cut = _cutoff(now, policy.episodes_days)
    feedback_cut = _cutoff(now, policy.feedback_days)
    for name, cut in (
        ("raw bodies", body_cut),
        ("deliveries", delivery_cut),
        ("episodes", episode_cut),
        ("engagement and feedback", feedback_cut),
    ):
        if cut is not None:
            report.cutoffs[name] = cut
    deadline = None if seconds is None else time.monotonic() + seconds
    trim = _Trim(policy, report, deadline)

    if dry_run:
        _count(report, now, body_cut, delivery_cut, episode_cut, feedback_cut)
        return report

    def phase(name: str, run: Callable[[], object]) -> None:
        with trim.phase(name):
            run()

    phase(
        "partitions ahead", lambda: report.partitions_created.extend(parts.ensure_partitions(now))
    )
    try:
        if feedback_cut is not None:
            phase("engagement and feedback", lambda: trim.children_older_than(feedback_cut))
        if episode_cut is not None:
            phase("episodes", lambda: trim.episodes_before(episode_cut))
        if delivery_cut is not None:
            phase("deliveries", lambda: trim.deliveries_before(delivery_cut))
        if body_cut is not None:
            phase("raw bodies", lambda: trim.bodies_before(body_cut, not_before=delivery_cut))
    except _OutOfTime:
        report.finished = False
        logger.info("retention stopped at its deadline; the next run continues")
    logger.info("retention applied: %s", "; ".join(report.lines()[1:]))
    return report


def _count(
    report: RetentionReport,
    now: datetime,
    body_cut: datetime | None,
    delivery_cut: datetime | None,
    episode_cut: datetime | None,
    feedback_cut: datetime | None,
) -> None:
    """What a run would trim, read only."""
    if parts.is_supported():
        for table in parts.PARTITIONED:
            if not parts.is_partitioned(table):
                continue
            have = {p.name for p in parts.partitions(table)}
            first = parts.month_start(now)
            for offset in range(parts.AHEAD_MONTHS + 1):
                name = parts.partition_name(table, parts.add_months(first, offset))
                if name not in have:
                    report.partitions_created.append(name)
    for table, cut in (("alerts_episode", episode_cut), ("alerts_delivery", delivery_cut)):
        if cut is not None:
            report.partitions_dropped += [p.name for p in parts.expired_partitions(table, cut)]
    gone_episode = models.Q(pk__in=[])
    if episode_cut is not None:
        report.episodes_deleted = Episode.objects.filter(starts_at__lt=episode_cut).count()
        gone_episode = models.Q(episode__starts_at__lt=episode_cut)
    old_engagement = models.Q(pk__in=[])
    old_feedback = models.Q(pk__in=[])
    if feedback_cut is not None:
        old_engagement = models.Q(at__lt=feedback_cut)
        old_feedback = models.Q(created_at__lt=feedback_cut)
    report.engagements_deleted = Engagement.objects.filter(old_engagement | gone_episode).count()
    report.feedback_deleted = Feedback.objects.filter(old_feedback | gone_episode).count()
    if delivery_cut is not None:
        report.deliveries_deleted = Delivery.objects.filter(received_at__lt=delivery_cut).count()
    if body_cut is not None:
        bodies = Delivery.objects.filter(received_at__lt=body_cut).exclude(body="")
        if delivery_cut is not None:
            bodies = bodies.filter(received_at__gte=delivery_cut)
        report.bodies_blanked = bodies.count()


class _Trim:
    def __init__(
        self, policy: RetentionPolicy, report: RetentionReport, deadline: float | None
    ) -> None:
        self.batch = policy.batch_size
        self.rest_ratio = policy.rest_ratio
        self.report = report
        self.deadline = deadline
        self.began = time.perf_counter()

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter() - self.began
        try:
            yield
        finally:
            self.report.phases.append((name, start, time.perf_counter() - self.began))

    def _rest(self, since: float) -> None:
        if self.rest_ratio > 0:
            time.sleep((time.perf_counter() - since) * self.rest_ratio)
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise _OutOfTime

    def _batches(self, step: Callable[[], int], counter: str | None = None) -> None:
        """Run `step` (one batch, one transaction) until it returns fewer rows than a batch,
        adding each batch's rows to the report's `counter` as soon as it commits."""
        while True:
            started = time.perf_counter()
            with transaction.atomic():
                done = step()
            if counter is not None:
                setattr(self.report, counter, getattr(self.report, counter) + done)
            if done < self.batch:
                return
            self._rest(started)

    # --- engagement and feedback -----------------------------------------------------------

    def children_older_than(self, cut: datetime) -> None:
        def engagements() -> int:
            ids = _ids(Engagement.objects.filter(at__lt=cut), self.batch)
            return _delete(Engagement, ids)

        def feedback() -> int:
            ids = _ids(Feedback.objects.filter(created_at__lt=cut), self.batch)
            return _delete(Feedback, ids)

        self._batches(engagements, "engagements_deleted")
        self._batches(feedback, "feedback_deleted")

    def _children_of(self, episodes: models.QuerySet[Episode]) -> None:
        """Engagement and feedback of these episodes (a CASCADE the database does not do)."""

        def engagements() -> int:
            ids = _ids(Engagement.objects.filter(episode__in=episodes.values("pk")), self.batch)
            return _delete(Engagement, ids)

        def feedback() -> int:
            ids = _ids(Feedback.objects.filter(episode__in=episodes.values("pk")), self.batch)
            return _delete(Feedback, ids)

        def automation_runs() -> int:
            ids = _ids(ActionRun.objects.filter(episode__in=episodes.values("pk")), self.batch)
            return _delete(ActionRun, ids)

        self._batches(engagements, "engagements_deleted")
        self._batches(feedback, "feedback_deleted")
        self._batches(automation_runs, "automation_runs_deleted")

    # --- episodes --------------------------------------------------------------------------

    def episodes_before(self, cut: datetime) -> None:
        with self.phase("episode months dropped"):
            self._episode_months_before(cut)
        with self.phase("episodes deleted by rows"):
            self._episode_rows_before(cut)

    def _episode_months_before(self, cut: datetime) -> None:
        for partition in parts.expired_partitions(Episode._meta.db_table, cut):
            inside = Episode.objects.filter(
                starts_at__gte=partition.start, starts_at__lt=partition.end
            )
            self._children_of(inside)
            rows = parts.estimated_rows(partition)
            started = time.perf_counter()
            parts.drop_partition(partition)
            self.report.episodes_deleted += rows
            self.report.partitions_dropped.append(partition.name)
            self._rest(started)

    def _episode_rows_before(self, cut: datetime) -> None:
        # Keyset on starts_at (indexed in every partition): each batch starts where the last
        # one ended. Ordered by id from the start instead, every batch walked past the index
        # entries of all the rows deleted before it (dead until vacuumed), so batches grew
        # longer as the month emptied, competing with ingest (bench/retention.py).
        after: datetime | None = None

        def batch() -> int:
            nonlocal after
            expired = Episode.objects.filter(starts_at__lt=cut)
            if after is not None:
                expired = expired.filter(starts_at__gte=after)
            rows = list(expired.order_by("starts_at").values_list("pk", "starts_at")[: self.batch])
            if not rows:
                return 0
            ids = [pk for pk, _ in rows]
            after = rows[-1][1]
            self.report.engagements_deleted += _delete(
                Engagement, _ids(Engagement.objects.filter(episode_id__in=ids), None)
            )
            self.report.feedback_deleted += _delete(
                Feedback, _ids(Feedback.objects.filter(episode_id__in=ids), None)
            )
            self.report.automation_runs_deleted += _delete(
                ActionRun, _ids(ActionRun.objects.filter(episode_id__in=ids), None)
            )
            return _delete(Episode, ids, starts_at__lt=cut)

        self._batches(batch, "episodes_deleted")

    # --- deliveries ------------------------------------------------------------------------

    def deliveries_before(self, cut: datetime) -> None:
        for partition in parts.expired_partitions(Delivery._meta.db_table, cut):
            inside = Delivery.objects.filter(
                received_at__gte=partition.start, received_at__lt=partition.end
            )
            self._unlink(inside)
            rows = parts.estimated_rows(partition)
            started = time.perf_counter()
            parts.drop_partition(partition)
            self.report.deliveries_deleted += rows
            self.report.partitions_dropped.append(partition.name)
            self._rest(started)

        def batch() -> int:
            ids = _ids(Delivery.objects.filter(received_at__lt=cut), self.batch)
            if ids:
                Episode.objects.filter(first_delivery_id__in=ids).update(first_delivery=None)
            return _delete(Delivery, ids, received_at__lt=cut)

        self._batches(batch, "deliveries_deleted")

    def _unlink(self, deliveries: models.QuerySet[Delivery]) -> None:
        """Episodes stop pointing at these deliveries (the ORM's SET_NULL), in batches."""
        last = 0

        def batch() -> int:
            nonlocal last
            ids = _ids(deliveries.filter(pk__gt=last), self.batch)
            if ids:
                last = ids[-1]
                Episode.objects.filter(first_delivery_id__in=ids).update(first_delivery=None)
            return len(ids)

        self._batches(batch)

    def bodies_before(self, cut: datetime, *, not_before: datetime | None) -> None:
        """Blank raw bodies received before `cut`, walking forward by (received_at, id)."""
        position: tuple[datetime, int] | None = None
        if not_before is not None:
            position = (not_before, 0)

        def batch() -> int:
            nonlocal position
            rows = Delivery.objects.filter(received_at__lt=cut)
            if position is not None:
                at, pk = position
                rows = rows.filter(
                    models.Q(received_at__gt=at) | models.Q(received_at=at, pk__gt=pk)
                )
            page = list(
                rows.order_by("received_at", "pk").values_list("received_at", "pk")[: self.batch]
            )
            if not page:
                return 0
            position = page[-1]
            ids = [pk for _, pk in page]
            self.report.bodies_blanked += (
                Delivery.objects.filter(pk__in=ids, received_at__lt=cut)
                .exclude(body="")
                .update(body="")
            )
            return len(page)

        self._batches(batch)


def _ids(queryset: models.QuerySet[models.Model], limit: int | None) -> list[int]:
    ordered = queryset.order_by("pk").values_list("pk", flat=True)
    return list(ordered if limit is None else ordered[:limit])


def _delete(model: type[models.Model], ids: list[int], **also: object) -> int:
    """One DELETE of these rows by id, without loading them (the children are already gone).

    `also` narrows by the partition column so PostgreSQL only looks into the old partitions.
    """
    if not ids:
        return 0
    queryset = model._default_manager.filter(pk__in=ids, **also)
    return queryset._raw_delete(connection.alias)
