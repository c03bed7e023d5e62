"""Property: the statistics do not depend on how deliveries arrived — duplicated (the same
(fingerprint, starts_at), merged by the ingest upsert) or in any order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.models import AlertRule, CoFiring, Episode, RuleFlag, RuleWeek
from alerts.noise.evaluation import week_evaluate
from fleet.models import Team
from tests.alerts.noise.conftest import AFTER_WEEK, MONDAY, WEEK

pytestmark = pytest.mark.django_db

# (rule index, fingerprint index, start minute from 3 days before the week, duration minutes or
# None while open): spans the boundary and the week, with re-fires of one fingerprint.
firing = st.tuples(
    st.integers(0, 3),
    st.integers(0, 2),
    st.integers(0, 14 * 24 * 60),
    st.one_of(st.none(), st.integers(0, 8 * 60)),
)


def _deliver(rules: list[AlertRule], firings: list[tuple[int, int, int, int | None]]) -> None:
    """Store firings the way ingest does: one episode per (fingerprint, starts_at)."""
    for rule_index, fp_index, minute, duration in firings:
        start = MONDAY - timedelta(days=3) + timedelta(minutes=minute)
        rule = rules[rule_index]
        Episode.objects.bulk_create(
            [
                Episode(
                    rule=rule,
                    fingerprint=f"r{rule_index}f{fp_index}",
                    starts_at=start,
                    ends_at=None if duration is None else start + timedelta(minutes=duration),
                    source="prometheus",
                )
            ],
            ignore_conflicts=True,
        )


def _snapshot() -> dict[str, Any]:
    week_evaluate(week=WEEK, now=AFTER_WEEK)
    fields = [f.name for f in RuleWeek._meta.fields if f.name not in ("id", "evaluated_at")]
    return {
        "weeks": sorted(RuleWeek.objects.filter(week=WEEK).values_list(*fields)),
        "flags": sorted(RuleFlag.objects.filter(week=WEEK).values_list("rule", "flag", "message")),
        "pairs": sorted(CoFiring.objects.filter(week=WEEK).values_list("rule", "other", "ratio")),
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    firings=st.lists(firing, min_size=1, max_size=30, unique_by=lambda f: (f[0], f[1], f[2])),
    duplicates=st.lists(st.integers(0, 29), max_size=15),
    order=st.randoms(use_true_random=False),
)
def test_statistics_ignore_duplicates_and_order(
    firings: list[tuple[int, int, int, int | None]], duplicates: list[int], order: Any
) -> None:
    with transaction.atomic():
        team = Team.objects.create(slug="p", name="P", timezone="America/Los_Angeles")
        rules = [
            AlertRule.objects.create(alertname=f"P{i}", severity="page", owner_team=team)
            for i in range(4)
        ]
        _deliver(rules, firings)
        expected = _snapshot()
        Episode.objects.all().delete()
        resent = firings + [firings[i % len(firings)] for i in duplicates]
        order.shuffle(resent)
        _deliver(rules, resent)
        assert Episode.objects.count() == len(firings)
        assert _snapshot() == expected
        transaction.set_rollback(True)
