from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Decision
from alerts.review.effect import decision_effects
from core.weeks import week_of, week_shift
from tests.alerts.review.conftest import stats


def _history(rule: AlertRule, decided_week: str, before: list[int], after: list[int]) -> None:
    for back, fires in enumerate(reversed(before), start=1):
        stats(rule, week_shift(decided_week, -back), fires=fires)
    stats(rule, decided_week, fires=999)  # the decision's own week counts on neither side
    for ahead, fires in enumerate(after, start=1):
        stats(rule, week_shift(decided_week, ahead), fires=fires)


def test_pruned_rule_that_went_quiet_shows_the_drop_and_the_summary(
    make_rule: Callable[..., AlertRule],
) -> None:
    now = timezone.now()
    decided_at = now - timedelta(weeks=6)
    decided_week = week_of(decided_at)
    pruned = make_rule("Pruned")
    _history(pruned, decided_week, before=[30, 20, 25, 25], after=[2, 0, 1, 0, 0])
    tuned = make_rule("Tuned")
    _history(tuned, decided_week, before=[10, 10, 10, 10], after=[12, 10, 9, 9])
    Decision.objects.create(rule=pruned, week=decided_week, kind="prune", decided_at=decided_at)
    Decision.objects.create(rule=tuned, week=decided_week, kind="tune", decided_at=decided_at)

    rows, summary = decision_effects(now=now)

    by_rule = {r.decision.rule.alertname: r for r in rows}
    assert (by_rule["Pruned"].weeks, by_rule["Pruned"].before, by_rule["Pruned"].after) == (
        4,
        100,
        3,
    )
    assert by_rule["Pruned"].change == -97
    assert by_rule["Tuned"].change == 0
    kinds = {s.kind: s for s in summary}
    assert (kinds["prune"].rules, kinds["prune"].change, kinds["prune"].quieter) == (1, -97, 1)


def test_short_history_shrinks_the_window_and_young_decisions_are_left_out(
    make_rule: Callable[..., AlertRule],
) -> None:
    now = timezone.now()
    decided_at = now - timedelta(weeks=3)
    decided_week = week_of(decided_at)
    rule = make_rule("Young")
    _history(rule, decided_week, before=[8], after=[1, 1])
    Decision.objects.create(rule=rule, week=decided_week, kind="tune", decided_at=decided_at)
    recent = make_rule("TooRecent")
    Decision.objects.create(
        rule=recent, week=week_of(now), kind="prune", decided_at=now - timedelta(days=3)
    )

    rows, _ = decision_effects(now=now)

    assert [(r.decision.rule.alertname, r.weeks, r.before, r.after) for r in rows] == [
        ("Young", 1, 8, 1)
    ]


def test_effect_page_renders_the_summary(
    client: Client,
    member: User,
    make_rule: Callable[..., AlertRule],
    django_assert_max_num_queries: Callable[..., object],
) -> None:
    now = timezone.now()
    decided_at = now - timedelta(weeks=5)
    rule = make_rule("PrunedNoise")
    _history(rule, week_of(decided_at), before=[40, 40], after=[4, 4])
    Decision.objects.create(
        rule=rule, week=week_of(decided_at), kind="prune", decided_at=decided_at
    )
    client.force_login(member)
    with django_assert_max_num_queries(8):  # type: ignore[operator]
        html = client.get("/review/effect/").content.decode()
    assert "<strong>Prune</strong>: 1 rule, fires 80 → 8" in html
    assert "−90%" in html
    assert "PrunedNoise" in html
