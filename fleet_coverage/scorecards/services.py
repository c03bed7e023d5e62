"""Writes for scorecards: the weekly snapshots the 12-week trend reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from django.utils import timezone

from core.weeks import parse_week, week_of
from fleet.models import AISystem
from fleet_coverage.models import ScorecardSnapshot
from fleet_coverage.scorecards.selectors import scorecards_for, systems_in_scope


class SnapshotRow(NamedTuple):
    system: AISystem
    score: int
    missing: list[str]


def scorecard_snapshots_store(*, week: str, rows: Sequence[SnapshotRow], taken_at: datetime) -> int:
    """Store `rows` under `week`, overwriting that week's earlier rows (one upsert)."""
    parse_week(week)
    ScorecardSnapshot.objects.bulk_create(
        [
            ScorecardSnapshot(
                system=row.system,
                week=week,
                score=row.score,
                missing=row.missing,
                taken_at=taken_at,
            )
            for row in rows
        ],
        update_conflicts=True,
        unique_fields=["system", "week"],
        update_fields=["score", "missing", "taken_at"],
    )
    return len(rows)


def scorecard_snapshots_write(*, week: str | None = None, now: datetime | None = None) -> int:
    """Store every in-scope system's current score under `week` (default: this week).

    Re-running in the same week overwrites that week's rows, so the task is idempotent.
    """
    now = now or timezone.now()
    week = week or week_of(now)
    parse_week(week)
    cards = scorecards_for(systems_in_scope(), now=now)
    rows = [SnapshotRow(card.system, card.score, card.missing_codes) for card in cards]
    return scorecard_snapshots_store(week=week, rows=rows, taken_at=now)
