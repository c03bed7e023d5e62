"""The pure demo planner at every hour around DST changes and year ends: no two episodes of
one series share a start or overlap, and every pattern the pages need is there."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from alerts.integrations.alertmanager.fingerprint import fingerprint
from demo.plan import HistoryPlan, RuleData, history_plan, series_labels

ZONES = ("America/Los_Angeles", "Europe/Berlin", "Asia/Tokyo", "America/New_York")
SEVERITIES = ("page", "critical", "warning", "ticket", "info")


def _rules() -> list[RuleData]:
    rules = []
    for n in range(40):
        team = "" if n % 9 == 4 else f"team-{n % 4}"
        rules.append(
            RuleData(
                id=n + 1,
                alertname=f"Alert{n % 13}",
                severity=SEVERITIES[n % 5],
                matchers={"model": f"model-{n}"} if n % 3 else {},
                labels={"layer": "infra"},
                team=team,
                team_timezone=ZONES[n % 4],
                has_runbook=n % 7 != 3,
                system_id=n // 3 if n % 3 else None,
                catalogued=n != 39,
                decider_id=100 + n % 4 if team else None,
            )
        )
    return rules


RULES = _rules()


def _check(plan: HistoryPlan, now: datetime) -> None:
    by_print: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    owner: dict[str, int] = {}
    for firing in plan.firings:
        assert owner.setdefault(firing.fingerprint, firing.rule_id) == firing.rule_id
        by_print[firing.fingerprint].append((firing.starts_at, firing.ends_at))
        assert firing.starts_at < now
        assert firing.ends_at is None or firing.starts_at <= firing.ends_at <= now
    for intervals in by_print.values():
        intervals.sort(key=lambda i: i[0])
        for (start, end), (next_start, _) in zip(intervals, intervals[1:], strict=False):
            assert end is not None, "an open episode is the last of its series"
            assert end < next_start, (start, end, next_start)


# Two weeks, hour by hour, across each DST change of the team zones and a year end.
WINDOWS = {
    "us-spring": datetime(2026, 3, 1, tzinfo=UTC),
    "eu-spring": datetime(2026, 3, 22, tzinfo=UTC),
    "autumn": datetime(2026, 10, 20, tzinfo=UTC),
    "year-end": datetime(2025, 12, 24, tzinfo=UTC),
}


@pytest.mark.parametrize("window", WINDOWS)
def test_no_series_overlaps_at_any_hour(window: str) -> None:
    start = WINDOWS[window]
    for hour in range(14 * 24):
        now = start + timedelta(hours=hour, minutes=hour % 60)
        _check(history_plan(RULES, now=now), now)


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 3, 8, 10, 0, tzinfo=UTC),  # US DST starts (2:00 local does not exist)
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # EU DST starts
        datetime(2026, 11, 1, 9, 0, tzinfo=UTC),  # US DST ends (1:00 local happens twice)
        datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 0, 0, tzinfo=UTC),  # Monday 00:00
        datetime(2026, 11, 29, 23, 59, tzinfo=UTC),  # Sunday 23:59
    ],
)
def test_the_plan_has_every_pattern(now: datetime) -> None:
    plan = history_plan(RULES, now=now)
    _check(plan, now)
    firing = [f for f in plan.firings if f.ends_at is None]
    rules = {rule.id: rule for rule in RULES}
    # The stuck episode started six days ago; the others within the last hours.
    assert any(now - f.starts_at > timedelta(days=5) for f in firing)
    recent = [rules[f.rule_id] for f in firing if now - f.starts_at < timedelta(hours=4)]
    assert {"critical", "page"} <= {rule.severity for rule in recent}
    assert all(rule.team and rule.has_runbook for rule in recent)
    assert {d.kind for d in plan.decisions} == {"tune", "keep", "runbook"}
    assert all(now - d.decided_at > timedelta(weeks=3) for d in plan.decisions)
    assert history_plan(RULES, now=now) == plan  # same inputs, same plan


def test_the_tuned_rule_fires_less_after_its_decision() -> None:
    now = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    plan = history_plan(RULES, now=now)
    tune = next(d for d in plan.decisions if d.kind == "tune")
    starts = [f.starts_at for f in plan.firings if f.rule_id == tune.rule_id]
    before = sum(1 for s in starts if tune.decided_at - timedelta(weeks=3) <= s < tune.decided_at)
    after = sum(1 for s in starts if tune.decided_at + timedelta(weeks=1) <= s)
    assert before >= 3 * after > 0


def test_episodes_carry_the_labels_alertmanager_would_send() -> None:
    rule = RuleData(
        id=1,
        alertname="ModelLatencyHigh",
        severity="page",
        matchers={"model": "fraud-scorer"},
        labels={"layer": "infra", "model": "fraud-scorer"},
        team="fraud-ml",
    )
    labels = series_labels(rule, 0)
    assert labels["alertname"] == "ModelLatencyHigh"
    assert labels["model"] == "fraud-scorer" and labels["team"] == "fraud-ml"
    assert labels["severity"] == "page" and labels["layer"] == "infra"
    assert labels["pod"].startswith("fraud-scorer-")
    assert series_labels(rule, 1)["pod"] != labels["pod"]
    fleet_wide = series_labels(RuleData(id=2, alertname="NodeDown"), 0)
    assert "instance" in fleet_wide and "team" not in fleet_wide
    plan = history_plan([rule], now=datetime(2026, 11, 25, tzinfo=UTC))
    assert all(f.fingerprint == fingerprint(f.labels) for f in plan.firings)
