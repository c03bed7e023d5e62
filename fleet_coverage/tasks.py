"""Celery tasks of the fleet app: thin wrappers around one service each."""

from __future__ import annotations

from celery import shared_task

from fleet_coverage.scorecards.services import scorecard_snapshots_write


@shared_task(name="fleet.snapshot_scorecards")
def snapshot_scorecards() -> int:
    """Weekly (beat): store this week's coverage score of every system for the trend."""
    return scorecard_snapshots_write()
