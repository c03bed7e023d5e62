from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from alerts.models import AlertRule, Episode
from fleet.models import AISystem, Membership, Team
from runbooks.models import Runbook
from runbooks.services import runbook_save


@pytest.fixture
def system(team: Team) -> AISystem:
    return AISystem.objects.create(
        slug="fraud-scorer",
        name="Fraud scorer",
        owner_team=team,
        dashboard_url="https://grafana.example.com/d/fraud?from={start_ms}&to={end_ms}&var-model={model}",
        trace_url_template="https://jaeger.example.com/search?service={model}&start={start}&end={end}",
        log_url_template="https://loki.example.com/explore?q={model}&env={env}&who={nobody}",
    )


@pytest.fixture
def runbook(team: Team, member: User) -> Runbook:
    return runbook_save(
        runbook=Runbook(slug="fraud-latency", title="Fraud latency", owner_team=team),
        author=member,
        body="## Summary\nLatency of the fraud scorer is high.\n\n[grafana](https://grafana.example.com)",
        note="first",
        # Written before writing counted as reviewing: tests of stale runbooks rely on it.
        last_reviewed_at=None,
    )


@pytest.fixture
def rule(team: Team, system: AISystem, runbook: Runbook) -> AlertRule:
    return AlertRule.objects.create(
        alertname="ModelLatencyHigh",
        matchers={"model": "fraud-scorer"},
        severity="page",
        layer="infra",
        owner_team=team,
        system=system,
        runbook=runbook,
    )


@pytest.fixture
def other_team_member(make_user: Callable[..., User]) -> User:
    other = Team.objects.create(slug="recsys", name="Recommendations")
    user = make_user("outsider")
    Membership.objects.create(team=other, user=user)
    return user


_counter = iter(range(10**6))


@pytest.fixture
def make_episode() -> Callable[..., Episode]:
    def make(
        rule: AlertRule,
        *,
        labels: dict[str, str] | None = None,
        started_ago: timedelta = timedelta(minutes=10),
        duration: timedelta | None = None,
        starts_at: datetime | None = None,
        **extra: Any,
    ) -> Episode:
        start = starts_at or timezone.now() - started_ago
        return Episode.objects.create(
            rule=rule,
            fingerprint=f"fp{next(_counter):014d}",
            labels={"alertname": rule.alertname, **(labels or {})},
            starts_at=start,
            ends_at=None if duration is None else start + duration,
            source="prometheus",
            **extra,
        )

    return make
