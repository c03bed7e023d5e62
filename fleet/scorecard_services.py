"""Writes for scorecards: the weekly snapshots the 12-week trend reads."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from alerts.weeks import parse_week, week_of
from fleet.scorecards import scorecards_for, systems_in_scope
from fleet.slo import ScorecardSnapshot


def scorecard_snapshots_write(*, week: str | None = None, now: datetime | None = None) -> int:
    """Store every in-scope system's current score under `week` (default: this week).

    Re-running in the same week overwrites that week's rows, so the task is idempotent.
    """
    now = now or timezone.now()
    week = week or week_of(now)
    parse_week(week)
    cards = scorecards_for(systems_in_scope(), now=now)
    ScorecardSnapshot.objects.bulk_create(
        [
            ScorecardSnapshot(
                system=card.system,
                week=week,
                score=card.score,
                missing=card.missing_codes,
                taken_at=now,
            )
            for card in cards
        ],
        update_conflicts=True,
        unique_fields=["system", "week"],
        update_fields=["score", "missing", "taken_at"],
    )
    return len(cards)
