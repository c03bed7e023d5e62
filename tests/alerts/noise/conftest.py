"""Builders for hand-made episodes: a week with known answers."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import AlertRule, Episode, RuleFlag, RuleWeek
from alerts.noise.evaluation import week_evaluate
from fleet.models import Team

# 2026-W47: Monday 16 November 2026 00:00 UTC to Monday 23 November.
WEEK = "2026-W47"
MONDAY = datetime(2026, 11, 16, tzinfo=UTC)
AFTER_WEEK = MONDAY + timedelta(days=8)

_fingerprints = itertools.count(1)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A moment of 2026-W47: day 0 is Monday."""
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute, seconds=second)


def episode(
    rule: AlertRule,
    start: datetime,
    end: datetime | None = None,
    *,
    seconds: float | None = None,
    fingerprint: str | None = None,
) -> Episode:
    if seconds is not None:
        end = start + timedelta(seconds=seconds)
    return Episode.objects.create(
        rule=rule,
        fingerprint=fingerprint or f"fp{next(_fingerprints):06d}",
        labels={"alertname": rule.alertname},
        starts_at=start,
        ends_at=end,
        source="prometheus",
    )


@pytest.fixture
def make_rule(db: None) -> Callable[..., AlertRule]:
    names = itertools.count(1)

    def make(name: str | None = None, **fields: object) -> AlertRule:
        return AlertRule.objects.create(alertname=name or f"Rule{next(names)}", **fields)

    return make


@pytest.fixture
def utc_team(db: None) -> Team:
    return Team.objects.create(slug="utc", name="UTC team", timezone="UTC")


def evaluate(week: str = WEEK, now: datetime = AFTER_WEEK) -> dict[int, RuleWeek]:
    """Run the evaluation and return the week's statistics by rule id."""
    week_evaluate(week=week, now=now)
    return {row.rule_id: row for row in RuleWeek.objects.filter(week=week)}


def flags_of(rule: AlertRule, week: str = WEEK) -> dict[str, RuleFlag]:
    return {flag.flag: flag for flag in RuleFlag.objects.filter(rule=rule, week=week)}
