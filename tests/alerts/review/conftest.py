"""Seeds for the review tests: rules with weekly statistics and flags, written directly (the
noise evaluation that normally fills them is another feature)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import AlertRule, RuleFlag, RuleWeek
from alerts.weeks import last_complete_week
from fleet.models import Team
from runbooks.models import Runbook

# The week under review in most tests: last week, as on a Monday meeting.
WEEK = last_complete_week()


@pytest.fixture
def week() -> str:
    return WEEK


@pytest.fixture
def other_team(db: None) -> Team:
    return Team.objects.create(slug="recsys", name="Recommender")


@pytest.fixture
def make_rule(db: None) -> Callable[..., AlertRule]:
    counter = iter(range(1, 100_000))

    def make(name: str | None = None, **fields: Any) -> AlertRule:
        fields.setdefault("severity", "warning")
        return AlertRule.objects.create(alertname=name or f"Rule{next(counter)}", **fields)

    return make


@pytest.fixture
def fresh_runbook(db: None) -> Runbook:
    return Runbook.objects.create(
        slug="fresh", title="Fresh", last_reviewed_at=timezone.now() - timedelta(days=1)
    )


def flag(rule: AlertRule, week: str, name: str, message: str = "", **evidence: Any) -> RuleFlag:
    return RuleFlag.objects.create(
        rule=rule,
        week=week,
        flag=name,
        message=message or f"{name} in plain words",
        evidence=evidence,
    )


def stats(rule: AlertRule, week: str, fires: int = 0, **fields: Any) -> RuleWeek:
    return RuleWeek.objects.create(rule=rule, week=week, fires=fires, **fields)
