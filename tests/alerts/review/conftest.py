"""Seeds for the review tests: rules with weekly statistics and flags, written directly (the
noise evaluation that normally fills them is another feature)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from alerts.models import AlertRule, RuleFlag, RuleWeek
from fleet.models import Team
from runbooks.models import Runbook
from tests.support.clock import LAST_WEEK

# The week under review in most tests: last week, as on a Monday meeting. "Now" is pinned for
# every review test (the pages read the clock: current week, open decisions, runbook ages).
WEEK = LAST_WEEK


@pytest.fixture(autouse=True)
def _pinned_now(frozen_now: datetime) -> datetime:
    return frozen_now


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
