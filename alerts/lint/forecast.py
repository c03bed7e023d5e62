"""Lint `--forecast`: evaluate alert rules over the past days on Prometheus
(alerts.replay.backtest) and say what they would have done.

- Without a base (`forecast_entries`): how often each alert would have fired; above
  STEWARD_LINT_FORECAST_MAX_FIRES the alert gets a warning.
- With a base (`forecast_change`, `lint_rules --forecast --base OLD NEW`): the old and the new
  rule files side by side, per owner team: pages per week and sleep interruptions before and
  after, the recorded episodes people acted on that the new rules would have missed, and an
  error when a team's page budget would be exceeded (after > budget and after > before: a
  change that makes an over-budget team quieter still passes).

A page is a notification announcing a new alert of a rule whose `severity` label is
interrupting (core.choices.INTERRUPTING_SEVERITIES), with Alertmanager's timing of the rule's
route (alerts.replay.notify and .routing, as the replay counts them); a sleep interruption is
a page sent in sleep hours of the owner team's timezone (alerts.noise.interruptions). The
owner is the catalog's (alerts.catalog.ownership) for a catalogued alert, else the rule's
`team` label. Each distinct expression is queried once per evaluation step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import timezone

from alerts.catalog.ownership import AlertQuery, ownership_resolve_many
from alerts.integrations.prometheus.client import prometheus_connect
from alerts.lint.types import AlertEntry, LintLimitError, LintReport, Status, Violation
from alerts.models import LintCheck
from alerts.noise.interruptions import SLEEP, SLEEP_FROM_HOUR, SLEEP_UNTIL_HOUR, interruption_kind
from alerts.replay.backtest import (
    BacktestError,
    Comparison,
    PredictedEpisode,
    RuleSpec,
    SeriesFetcher,
    Window,
    assign_recorded,
    compare,
    predict,
    recorded_episodes,
)
from alerts.replay.notify import notifications
from alerts.replay.routing import Route, RoutingError, configured_routes
from alerts.replay.semantics import Interval
from core.choices import INTERRUPTING_SEVERITIES
from fleet.models import Team

NO_TEAM = "(no team)"
# Evaluations per rule and forecast (20 range queries of MAX_POINTS): 4 weeks at 15 s.
MAX_FORECAST_POINTS = 200_000
PAGING = {str(severity) for severity in INTERRUPTING_SEVERITIES}


def _describe(window: timedelta) -> str:
    if window >= timedelta(days=1):
        return f"{window.total_seconds() / 86400:g} days"
    return f"{window.total_seconds() / 60:g} minutes"


def forecast_window(
    *, window: timedelta, step: int | None = None, end: datetime | None = None
) -> Window:
    """The evaluations of a forecast; refused (LintLimitError) beyond MAX_FORECAST_POINTS."""
    if window <= timedelta(0):
        raise LintLimitError("The forecast window must be positive.")
    span = Window.ending(
        end or timezone.now(),
        days=window.total_seconds() / 86400,
        step_seconds=step or settings.STEWARD_REPLAY_EVALUATION_SECONDS,
    )
    if span.points > MAX_FORECAST_POINTS:
        raise LintLimitError(
            f"A forecast evaluates each rule at most {MAX_FORECAST_POINTS:,} times "
            f"({span.points:,} asked): use a shorter window or a longer step."
        )
    return span


class Evaluator:
    """Rules evaluated as Prometheus would: every `step` seconds when given (`--step`), else
    every `interval:` of the rule's group, else every STEWARD_REPLAY_EVALUATION_SECONDS. One
    chunked, cached SeriesFetcher per step; every window ends at (about) the same time."""

    def __init__(
        self, *, window: timedelta, step: int | None = None, end: datetime | None = None
    ) -> None:
        if not settings.PROMETHEUS_URL:
            raise ValueError("Forecasting needs PROMETHEUS_URL.")
        self.length = window
        self.step = step
        self.end = end or timezone.now()
        self.prometheus = prometheus_connect(url=settings.PROMETHEUS_URL)
        self.span = forecast_window(window=window, step=step, end=self.end)
        self._fetchers: dict[int, SeriesFetcher] = {}

    def window(self, rule: RuleSpec) -> Window:
        seconds = self.step or (
            max(1, int(rule.interval.total_seconds())) if rule.interval else None
        )
        return forecast_window(window=self.length, step=seconds, end=self.end)

    def predict(self, rule: RuleSpec) -> list[PredictedEpisode]:
        window = self.window(rule)
        seconds = int(window.step.total_seconds())
        if seconds not in self._fetchers:
            self._fetchers[seconds] = SeriesFetcher(self.prometheus, window)
        return predict(rule, self._fetchers[seconds].present(rule.expr), window)

    @property
    def queries(self) -> int:
        return sum(fetcher.queries for fetcher in self._fetchers.values())


def forecast_entries(
    report: LintReport,
    entries: Sequence[AlertEntry],
    *,
    window: timedelta = timedelta(days=7),
    end: datetime | None = None,
    step: int | None = None,
) -> Evaluator:
    """Add one forecast per alert to the report, and a warning when it fires too often."""
    evaluator = Evaluator(window=window, step=step, end=end)
    limit = settings.STEWARD_LINT_FORECAST_MAX_FIRES
    for entry in entries:
        rule = RuleSpec.from_entry(entry)
        try:
            span = evaluator.window(rule)
            episodes = evaluator.predict(rule)
        except BacktestError as error:
            report.forecasts.append(
                {"file": entry.file, "alert": entry.alert, "fires": None, "error": str(error)}
            )
            continue
        fires = len(episodes)
        report.forecasts.append(
            {
                "file": entry.file,
                "alert": entry.alert,
                "fires": fires,
                "window_start": span.start.isoformat(),
                "window_end": span.end.isoformat(),
                "step_seconds": int(span.step.total_seconds()),
            }
        )
        if fires > limit:
            report.violations.append(
                Violation(
                    entry.file,
                    entry.rule.line,
                    entry.group,
                    entry.alert,
                    LintCheck.FORECAST,
                    f"Would have fired {fires} times in the past {_describe(window)} "
                    f"(limit {limit}): raise the threshold or lengthen `for:`.",
                    status=Status.WARNING,
                )
            )
    return evaluator


def page_budget(team: str) -> int:
    """Pages a week a team accepts: STEWARD_PAGE_BUDGETS (team=N) over the default."""
    return int(settings.STEWARD_PAGE_BUDGETS.get(team, settings.STEWARD_PAGE_BUDGET_PER_WEEK))


@dataclass
class TeamForecast:
    team: str
    timezone: str
    pages_before: int = 0
    pages_after: int = 0
    sleep_before: int = 0
    sleep_after: int = 0
    missed: list[dict[str, Any]] = field(default_factory=list)
    missed_count: int = 0
    # (increase of pages, file, line, group, alert) of the rule that adds most pages.
    worst: tuple[int, str, int, str, str] | None = None

    def as_dict(self, weeks: float) -> dict[str, Any]:
        before, after = self.pages_before / weeks, self.pages_after / weeks
        budget = page_budget(self.team)
        return {
            "team": self.team,
            "timezone": self.timezone,
            "pages_per_week_before": round(before, 1),
            "pages_per_week_after": round(after, 1),
            "pages_before": self.pages_before,
            "pages_after": self.pages_after,
            "sleep_interruptions_before": self.sleep_before,
            "sleep_interruptions_after": self.sleep_after,
            "page_budget_per_week": budget,
            "over_budget": round(after, 1) > budget and after > before,
            "missed_actionable_count": self.missed_count,
            "missed_actionable": self.missed,
        }


def _pair(
    base: Sequence[AlertEntry], new: Sequence[AlertEntry]
) -> list[tuple[AlertEntry | None, AlertEntry | None]]:
    """Old and new entries of one rule: the n-th alert of a name in the base with the n-th of
    that name in the new files; the rest were added or removed."""
    olds: dict[str, list[AlertEntry]] = defaultdict(list)
    for entry in base:
        olds[entry.alert].append(entry)
    pairs: list[tuple[AlertEntry | None, AlertEntry | None]] = []
    for entry in new:
        pairs.append((olds[entry.alert].pop(0) if olds[entry.alert] else None, entry))
    pairs += [(entry, None) for entries in olds.values() for entry in entries]
    return pairs


def _teams(rules: Sequence[RuleSpec]) -> tuple[list[str], dict[str, str]]:
    """The owner team slug of each rule (catalog, else `team` label), and their timezones."""
    answers = ownership_resolve_many(
        [AlertQuery(r.alert, {k: v for k, v in r.labels.items() if "{{" not in v}) for r in rules]
    )
    slugs = [
        (answer["team"] or {}).get("slug") or rule.labels.get("team") or NO_TEAM
        for rule, answer in zip(rules, answers, strict=True)
    ]
    zones = dict(Team.objects.filter(slug__in=set(slugs)).values_list("slug", "timezone"))
    return slugs, {slug: zones.get(slug) or "UTC" for slug in slugs}


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # a bad name was rejected on save; never crash a forecast


def _pages(
    rule: RuleSpec | None,
    episodes: Sequence[PredictedEpisode],
    zone: str,
    *,
    routes: Route,
    until: datetime,
) -> tuple[int, int]:
    """Pages and sleep interruptions of a rule's episodes: the notifications announcing a new
    alert of its Alertmanager group (alerts.replay.notify, with its route's timing), for a
    paging severity; sleep by the hour of the notification in the team's timezone."""
    if rule is None or rule.severity not in PAGING:
        return 0, 0
    timing = routes.timing_for(rule.alert_labels(()))
    sent = notifications([Interval(e.start, e.end) for e in episodes], timing, until=until)
    tz = _zone(zone)
    pages = [n for n in sent if n.new]
    return len(pages), sum(interruption_kind(n.at, tz) == SLEEP for n in pages)


def forecast_change(
    report: LintReport,
    base: Sequence[AlertEntry],
    new: Sequence[AlertEntry],
    *,
    window: timedelta = timedelta(days=7),
    end: datetime | None = None,
    step: int | None = None,
    visible_teams: set[str] | None = None,
) -> dict[str, Any]:
    """Compare the base rule files with the new ones; store and return the forecast.

    `visible_teams`: team slugs whose recorded episodes the caller may see listed (None: all,
    the CLI and fleet-wide callers); other teams' missed episodes are only counted."""
    evaluator = Evaluator(window=window, step=step, end=end)
    span = evaluator.span
    try:
        routes = configured_routes()
    except RoutingError as error:
        raise LintLimitError(str(error)) from error
    pairs = _pair(base, new)
    specs = [
        (RuleSpec.from_entry(o) if o else None, RuleSpec.from_entry(n) if n else None)
        for o, n in pairs
    ]
    predicted: list[tuple[list[PredictedEpisode], list[PredictedEpisode]]] = []
    errors: list[dict[str, str]] = []
    for old, new_rule in specs:
        sides = []
        for rule in (old, new_rule):
            episodes: list[PredictedEpisode] = []
            if rule is not None:
                try:
                    episodes = evaluator.predict(rule)
                except BacktestError as error:
                    errors.append({"file": rule.file, "alert": rule.alert, "error": str(error)})
                    if rule is new_rule:
                        report.violations.append(
                            Violation(
                                rule.file,
                                rule.line,
                                rule.group,
                                rule.alert,
                                LintCheck.FORECAST,
                                f"Could not forecast on Prometheus: {error}",
                                Status.WARNING,
                            )
                        )
            sides.append(episodes)
        predicted.append((sides[0], sides[1]))
    recorded = recorded_episodes({r.alert for pair in specs for r in pair if r is not None}, span)
    assigned = assign_recorded(
        [
            (o, n, {e.fingerprint for side in sides for e in side})
            for (o, n), sides in zip(specs, predicted, strict=True)
        ],
        recorded,
    )
    all_rules = [r for pair in specs for r in pair if r is not None]
    slugs, zones = _teams(all_rules)
    team_of = {id(rule): slug for rule, slug in zip(all_rules, slugs, strict=True)}
    teams: dict[str, TeamForecast] = {}

    def team(rule: RuleSpec) -> TeamForecast:
        slug = team_of[id(rule)]
        return teams.setdefault(slug, TeamForecast(slug, zones[slug]))

    changes = []
    for (old, new_rule), (old_eps, new_eps), mine in zip(specs, predicted, assigned, strict=True):
        slack = max(evaluator.window(r).step for r in (old, new_rule) if r is not None)
        comparison = compare(
            old,
            old_eps,
            new_rule,
            new_eps,
            mine,
            slack=slack,
            regret_delay=timedelta(seconds=settings.STEWARD_REPLAY_REGRET_DELAY_SECONDS),
        )
        before = after = (0, 0)
        if old is not None:
            before = _pages(old, old_eps, team(old).timezone, routes=routes, until=span.end)
            team(old).pages_before += before[0]
            team(old).sleep_before += before[1]
        if new_rule is not None:
            after = _pages(
                new_rule, new_eps, team(new_rule).timezone, routes=routes, until=span.end
            )
            team(new_rule).pages_after += after[0]
            team(new_rule).sleep_after += after[1]
            increase = after[0] - before[0]
            owner = team(new_rule)
            if increase > 0 and (owner.worst is None or increase > owner.worst[0]):
                owner.worst = (
                    increase,
                    new_rule.file,
                    new_rule.line,
                    new_rule.group,
                    new_rule.alert,
                )
        owner_rule = new_rule or old
        if owner_rule is None:  # a pair always has one side
            continue
        owner = team(owner_rule)
        shown = visible_teams is None or owner.team in visible_teams
        owner.missed_count += len(comparison.missed)
        if shown:
            owner.missed += [{"alert": owner_rule.alert, **e.as_dict()} for e in comparison.missed]
        changed = old is None or new_rule is None or old.behaviour() != new_rule.behaviour()
        if changed:
            changes.append(_change(comparison, before, after, shown=shown, step=slack))
            _annotate(report, comparison, before, after, span, shown=shown)
    data = {
        "window_start": span.start.isoformat(),
        "window_end": span.end.isoformat(),
        "window_days": f"{(span.end - span.start).total_seconds() / 86400:g}",
        "step_seconds": int(span.step.total_seconds()),
        "range_queries": evaluator.queries,
        "recorded_episodes": len(recorded),
        "teams": [teams[slug].as_dict(span.weeks) for slug in sorted(teams)],
        "changes": changes,
        "errors": errors,
    }
    for slug in sorted(teams):
        _budget(report, teams[slug], data, new)
    report.forecast_change = data
    return data


def _change(
    comparison: Comparison,
    before: tuple[int, int],
    after: tuple[int, int],
    *,
    shown: bool,
    step: timedelta,
) -> dict[str, Any]:
    old, new = comparison.old, comparison.new
    return {
        "alert": comparison.alert,
        "status": "added" if old is None else "removed" if new is None else "changed",
        "file": new.file if new else old.file if old else "",
        "line": new.line if new else 0,
        "step_seconds": int(step.total_seconds()),
        "episodes_before": len(comparison.old_episodes),
        "episodes_after": len(comparison.new_episodes),
        "pages_before": before[0],
        "pages_after": after[0],
        "sleep_before": before[1],
        "sleep_after": after[1],
        "episodes_removed": len(comparison.removed),
        "episodes_added": len(comparison.added),
        "added": [
            {"labels": dict(e.labels), "starts_at": e.start.isoformat()} for e in comparison.added
        ][:20],
        "recorded_episodes": comparison.recorded,
        "missed_actionable_count": len(comparison.missed),
        "missed_actionable": [e.as_dict() for e in comparison.missed] if shown else [],
        "delayed_actionable_count": len(comparison.delayed),
        "delayed_actionable": [
            {**e.as_dict(), "delay_seconds": int(delay.total_seconds())}
            for e, delay in comparison.delayed
        ]
        if shown
        else [],
    }


def _annotate(
    report: LintReport,
    comparison: Comparison,
    before: tuple[int, int],
    after: tuple[int, int],
    span: Window,
    *,
    shown: bool,
) -> None:
    """A warning on the changed rule's line in the new file (missed episodes, effect)."""
    new = comparison.new
    if new is None:
        return
    days = _describe(span.end - span.start)
    message = (
        f"Over the past {days}: {len(comparison.old_episodes)} → "
        f"{len(comparison.new_episodes)} episode(s), {before[0]} → {after[0]} page(s), "
        f"{before[1]} → {after[1]} sleep interruption(s); {len(comparison.removed)} removed, "
        f"{len(comparison.added)} added."
    )
    if comparison.missed:
        message += f" Would miss {len(comparison.missed)} episode(s) someone acted on"
        if shown:
            listed = "; ".join(
                f"{e.starts_at:%Y-%m-%d %H:%M} UTC {e.url}" for e in comparison.missed[:5]
            )
            message += f": {listed}"
        message += "."
    if comparison.delayed:
        longest = max(delay for _, delay in comparison.delayed)
        message += (
            f" Would page {len(comparison.delayed)} episode(s) someone acted on later than "
            f"{settings.STEWARD_REPLAY_REGRET_DELAY_SECONDS // 60:g} min (up to "
            f"{longest.total_seconds() / 60:g} min)."
        )
    report.violations.append(
        Violation(
            new.file, new.line, new.group, new.alert, LintCheck.FORECAST, message, Status.WARNING
        )
    )


def _budget(
    report: LintReport, team: TeamForecast, data: dict[str, Any], new: Sequence[AlertEntry]
) -> None:
    summary = next(t for t in data["teams"] if t["team"] == team.team)
    if not summary["over_budget"]:
        return
    if team.worst is not None:
        _, file, line, group, alert = team.worst
    else:
        first = new[0] if new else None
        file, line, group, alert = (
            (first.file, first.rule.line, first.group, first.alert) if first else ("", 1, "", "")
        )
    report.violations.append(
        Violation(
            file,
            line,
            group,
            alert,
            LintCheck.FORECAST,
            f"Team {team.team} would get {summary['pages_per_week_after']:g} pages a week "
            f"(budget {summary['page_budget_per_week']}, before "
            f"{summary['pages_per_week_before']:g}); {team.sleep_after} of the pages in the "
            f"window fall in sleep hours ({SLEEP_FROM_HOUR:02d}–{SLEEP_UNTIL_HOUR:02d} "
            f"{team.timezone}).",
            Status.ERROR,
        )
    )
