"""The expression backtest's pure parts on fake series (chunking, prediction, comparison,
recorded-episode matching) and its one database query. Against a real Prometheus:
tests/alerts/test_lint_forecast_base.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.lint.forecast import MAX_FORECAST_POINTS, _pages, forecast_window, page_budget
from alerts.lint.types import LintLimitError
from alerts.models import AlertRule, Engagement, Episode, Feedback
from alerts.replay.backtest import (
    MAX_POINTS,
    PredictedEpisode,
    RecordedEpisode,
    RuleSpec,
    Window,
    assign_recorded,
    compare,
    predict,
    recorded_episodes,
    series_key,
)
from alerts.replay.notify import Timing
from alerts.replay.routing import Route
from config.env import env_int_map
from fleet.models import Team

T0 = datetime(2026, 11, 17, tzinfo=UTC)
MIN = timedelta(minutes=1)
WINDOW = Window(T0, T0 + 59 * MIN, MIN)  # 60 evaluations
RULE = RuleSpec("ErrorsHigh", "errors > 1", labels={"severity": "page", "team": "fraud-ml"})
SCORER = series_key({"__name__": "errors", "model": "scorer"})
RANKER = series_key({"__name__": "errors", "model": "ranker"})


def samples(*runs: tuple[int, int], length: int = 60) -> list[bool]:
    """Present at the evaluations of each [first, last) run."""
    return [any(a <= i < b for a, b in runs) for i in range(length)]


def test_window_chunks_cover_every_evaluation_once() -> None:
    window = Window.ending(datetime(2026, 11, 20, 0, 0, 7, tzinfo=UTC), days=3, step_seconds=20)
    assert window.end == datetime(2026, 11, 20, tzinfo=UTC)  # aligned to the step
    assert window.points == 3 * 86400 // 20 + 1 == 12_961
    chunks = window.chunks()
    assert len(chunks) == 2
    assert chunks[0] == (window.start, window.start + (MAX_POINTS - 1) * window.step)
    assert chunks[1] == (window.start + MAX_POINTS * window.step, window.end)
    small = window.chunks(max_points=1000)
    assert len(small) == 13
    counted = sum(int((end - start) / window.step) + 1 for start, end in small)
    assert counted == window.points
    assert all(b[0] - a[1] == window.step for a, b in zip(small, small[1:], strict=False))


def test_forecast_window_is_bounded() -> None:
    end = datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(LintLimitError, match="at most 200,000"):
        forecast_window(window=timedelta(days=28), step=1, end=end)
    assert forecast_window(window=timedelta(days=28), step=15, end=end).points <= (
        MAX_FORECAST_POINTS
    )


def test_predict_labels_fingerprint_and_for() -> None:
    present = {SCORER: samples((5, 8), (20, 30)), RANKER: samples((40, 41))}
    episodes = predict(RULE, present, WINDOW)
    assert [(e.key, e.start, e.end) for e in episodes] == [
        (SCORER, T0 + 5 * MIN, T0 + 8 * MIN),
        (SCORER, T0 + 20 * MIN, T0 + 30 * MIN),
        (RANKER, T0 + 40 * MIN, T0 + 41 * MIN),
    ]
    labels = {"alertname": "ErrorsHigh", "model": "scorer", "severity": "page", "team": "fraud-ml"}
    assert dict(episodes[0].labels) == labels  # no __name__; rule labels; alertname
    assert episodes[0].fingerprint == fingerprint(labels)

    longer = RuleSpec(RULE.alert, RULE.expr, for_=5 * MIN, labels=RULE.labels)
    [kept] = predict(longer, present, WINDOW)
    assert (kept.start, kept.end) == (T0 + 25 * MIN, T0 + 30 * MIN)  # start moves by `for`

    merged = RuleSpec(RULE.alert, RULE.expr, keep_firing_for=15 * MIN, labels=RULE.labels)
    scorer = [e for e in predict(merged, present, WINDOW) if e.key == SCORER]
    assert [(e.start, e.end) for e in scorer] == [(T0 + 5 * MIN, T0 + 45 * MIN)]


def _recorded(
    pk: int,
    start: int,
    end: int | None,
    *,
    model: str = "scorer",
    actionable: bool = False,
    engaged: bool = False,
    labels: dict[str, str] | None = None,
) -> RecordedEpisode:
    full = labels or {"alertname": "ErrorsHigh", "model": model, **RULE.labels}
    return RecordedEpisode(
        pk,
        1,
        fingerprint(full),
        full,
        T0 + start * MIN,
        None if end is None else T0 + end * MIN,
        actionable,
        engaged,
    )


def test_compare_lists_removed_added_and_missed() -> None:
    old_present = {SCORER: samples((5, 8), (20, 30)), RANKER: samples((40, 41))}
    new_present = {SCORER: samples((20, 30), (50, 52)), RANKER: samples()}
    new_rule = RuleSpec(RULE.alert, "errors > 2", labels=RULE.labels)
    old_eps, new_eps = predict(RULE, old_present, WINDOW), predict(new_rule, new_present, WINDOW)
    recorded = [
        _recorded(1, 5, 8, actionable=True),  # the blip: new rule drops it -> missed
        _recorded(2, 20, 30, engaged=True),  # kept
        _recorded(3, 40, 41, model="ranker"),  # dropped, but nobody acted: not listed
        _recorded(4, 40, 41, model="ranker", engaged=True),
    ]
    result = compare(RULE, old_eps, new_rule, new_eps, recorded, slack=MIN)
    assert [(e.key, e.start) for e in result.removed] == [
        (SCORER, T0 + 5 * MIN),
        (RANKER, T0 + 40 * MIN),
    ]
    assert [(e.key, e.start) for e in result.added] == [(SCORER, T0 + 50 * MIN)]
    assert [e.id for e in result.missed] == [1, 4]
    assert result.recorded == 4 and result.alert == "ErrorsHigh"


def test_compare_lists_acted_on_episodes_paged_too_late() -> None:
    present = {SCORER: samples((5, 8), (20, 40))}
    longer = RuleSpec(RULE.alert, RULE.expr, for_=12 * MIN, labels=RULE.labels)
    old_eps, new_eps = predict(RULE, present, WINDOW), predict(longer, present, WINDOW)
    recorded = [_recorded(1, 20, 40, actionable=True), _recorded(2, 5, 8, engaged=True)]
    result = compare(RULE, old_eps, longer, new_eps, recorded, regret_delay=10 * MIN)
    assert [e.id for e in result.missed] == [2]
    assert [(e.id, delay) for e, delay in result.delayed] == [(1, 12 * MIN)]
    relaxed = compare(RULE, old_eps, longer, new_eps, recorded, regret_delay=15 * MIN)
    assert relaxed.delayed == []


def test_compare_matches_series_when_the_rule_labels_change() -> None:
    """Severity page -> warning changes every fingerprint; episodes still match per series."""
    present = {SCORER: samples((20, 30))}
    warning = RuleSpec(RULE.alert, RULE.expr, labels={**RULE.labels, "severity": "warning"})
    old_eps, new_eps = predict(RULE, present, WINDOW), predict(warning, present, WINDOW)
    assert old_eps[0].fingerprint != new_eps[0].fingerprint
    recorded = [_recorded(1, 20, 30, actionable=True)]
    result = compare(RULE, old_eps, warning, new_eps, recorded)
    assert result.removed == [] and result.added == [] and result.missed == []


def test_removed_rule_misses_everything_acted_on() -> None:
    old_eps = predict(RULE, {SCORER: samples((20, 30))}, WINDOW)
    result = compare(RULE, old_eps, None, [], [_recorded(1, 20, 30, actionable=True)])
    assert [e.id for e in result.missed] == [1] and len(result.removed) == 1


def test_recorded_episode_outside_any_prediction_is_matched_by_labels() -> None:
    """Prometheus no longer has the series (or a gap): the recorded episode still counts,
    by its labels, against the new rule."""
    recorded = [_recorded(7, 10, 12, model="gone", actionable=True)]
    result = compare(RULE, [], RULE, [], recorded)
    assert [e.id for e in result.missed] == [7]
    alive = predict(RULE, {series_key({"model": "gone"}): samples((10, 12))}, WINDOW)
    assert compare(RULE, [], RULE, alive, recorded).missed == []


def test_assign_recorded_counts_each_episode_once() -> None:
    page = RULE
    ticket = RuleSpec(RULE.alert, "errors > 0", labels={"severity": "ticket", "team": "fraud-ml"})
    page_eps = predict(page, {SCORER: samples((20, 30))}, WINDOW)
    by_fp = _recorded(1, 20, 30)
    by_labels = _recorded(
        2,
        40,
        41,
        labels={"alertname": "ErrorsHigh", "model": "x", "severity": "ticket", "team": "fraud-ml"},
    )
    unknown = _recorded(
        3, 40, 41, labels={"alertname": "ErrorsHigh", "model": "y", "severity": "info"}
    )
    other = _recorded(4, 40, 41, labels={"alertname": "Other"})
    pairs: list[tuple[RuleSpec | None, RuleSpec | None, set[str]]] = [
        (ticket, ticket, set()),
        (page, page, {e.fingerprint for e in page_eps}),
    ]
    assigned = assign_recorded(pairs, [by_fp, by_labels, unknown, other])
    assert [[e.id for e in group] for group in assigned] == [[2, 3], [1]]


def test_predicted_overlap_with_slack() -> None:
    episode = PredictedEpisode(SCORER, "f", {}, T0 + 10 * MIN, T0 + 20 * MIN)
    assert episode.overlaps(T0 + 20 * MIN, None, slack=timedelta(0))
    assert not episode.overlaps(T0 + 21 * MIN, T0 + 30 * MIN, slack=timedelta(0))
    assert episode.overlaps(T0 + 21 * MIN, T0 + 30 * MIN, slack=MIN)
    still = PredictedEpisode(SCORER, "f", {}, T0 + 10 * MIN, None)
    assert still.overlaps(T0 + 59 * MIN, T0 + 60 * MIN, slack=timedelta(0))


def test_recorded_episodes_one_query(
    team: Team, make_user: Callable[..., Any], django_assert_num_queries: Any
) -> None:
    rule = AlertRule.objects.create(alertname="ErrorsHigh", owner_team=team)
    other = AlertRule.objects.create(alertname="Other", owner_team=team)
    user = make_user()

    def episode(r: AlertRule, start: int, end: int | None, fp: str) -> Episode:
        return Episode.objects.create(
            rule=r,
            fingerprint=fp,
            labels={"alertname": r.alertname},
            starts_at=T0 + start * MIN,
            ends_at=None if end is None else T0 + end * MIN,
            source="webhook",
        )

    acted = episode(rule, 5, 8, "a")
    Feedback.objects.create(episode=acted, user=user, actionable=True)
    looked = episode(rule, 10, None, "b")
    Engagement.objects.create(episode=looked, user=user, kind=Engagement.Kind.RUNBOOK_VIEW)
    noise = episode(rule, 12, 13, "c")
    Feedback.objects.create(episode=noise, user=user, actionable=False)
    episode(rule, -30, -10, "d")  # ended before the window
    episode(other, 5, 8, "e")  # another alert
    with django_assert_num_queries(1):
        found = recorded_episodes(["ErrorsHigh"], WINDOW)
    assert [(e.fingerprint, e.actionable, e.engaged) for e in found] == [
        ("a", True, False),
        ("b", False, True),
        ("c", False, False),
    ]
    assert [e.important for e in found] == [True, True, False]
    assert found[0].url.endswith(f"/alerts/{rule.pk}/")


def test_pages_and_sleep_in_the_team_timezone() -> None:
    """2026-11-17 is a Tuesday; Berlin is UTC+1 in November: 21:30 UTC is asleep there."""
    night = PredictedEpisode(SCORER, "f", {}, datetime(2026, 11, 17, 21, 30, tzinfo=UTC), None)
    day = PredictedEpisode(SCORER, "f", {}, datetime(2026, 11, 17, 12, 0, tzinfo=UTC), None)
    routes = Route(timing=Timing(MIN, 5 * MIN, timedelta(hours=4)))
    end = datetime(2026, 11, 18, tzinfo=UTC)

    def pages(rule: RuleSpec, zone: str, *episodes: PredictedEpisode) -> tuple[int, int]:
        return _pages(rule, episodes, zone, routes=routes, until=end)

    assert pages(RULE, "Europe/Berlin", night, day) == (2, 1)
    assert pages(RULE, "UTC", night, day) == (2, 0)
    assert pages(RULE, "Not/AZone", night, day) == (2, 0)
    ticket = RuleSpec(RULE.alert, RULE.expr, labels={"severity": "ticket"})
    assert pages(ticket, "Europe/Berlin", night, day) == (0, 0)
    # Two series of the rule firing together: one Alertmanager group, one page.
    ranker = PredictedEpisode(RANKER, "g", {}, day.start + timedelta(seconds=20), None)
    assert pages(RULE, "UTC", day, ranker) == (1, 0)


def test_page_budgets(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.STEWARD_PAGE_BUDGET_PER_WEEK = 10
    settings.STEWARD_PAGE_BUDGETS = {"search": 25}
    assert (page_budget("fraud-ml"), page_budget("search")) == (10, 25)
    monkeypatch.setenv("STEWARD_PAGE_BUDGETS", "fraud-ml=5, search=20")
    assert env_int_map("STEWARD_PAGE_BUDGETS") == {"fraud-ml": 5, "search": 20}
    monkeypatch.setenv("STEWARD_PAGE_BUDGETS", "fraud-ml")
    with pytest.raises(ImproperlyConfigured, match="key=N"):
        env_int_map("STEWARD_PAGE_BUDGETS")
