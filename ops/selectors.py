"""Reads behind the scrape-time metrics: each is one aggregate query."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

from django.db.models import Count, Max, Min, Q

from alerts.models import Evaluation, RuleFlag

_UNPROCESSED = [Evaluation.Status.PENDING, Evaluation.Status.RUNNING]
_FINISHED = [Evaluation.Status.DONE, Evaluation.Status.FAILED]


class EvaluationTimes(TypedDict):
    oldest_unprocessed: datetime | None
    last_finished: datetime | None
    last_done: datetime | None


def evaluation_times() -> EvaluationTimes:
    """When the oldest pending/running evaluation was requested, and when the last one ended."""
    row = Evaluation.objects.aggregate(
        oldest_unprocessed=Min("requested_at", filter=Q(status__in=_UNPROCESSED)),
        last_finished=Max("finished_at", filter=Q(status__in=_FINISHED)),
        last_done=Max("finished_at", filter=Q(status=Evaluation.Status.DONE)),
    )
    return EvaluationTimes(
        oldest_unprocessed=row["oldest_unprocessed"],
        last_finished=row["last_finished"],
        last_done=row["last_done"],
    )


def flag_counts(*, week: str) -> dict[str, int]:
    """Flagged rules of a week by flag; flags nobody raised are absent."""
    rows = RuleFlag.objects.filter(week=week).values("flag").annotate(rules=Count("rule_id"))
    return {row["flag"]: row["rules"] for row in rows.order_by()}
