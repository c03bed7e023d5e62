"""Read side of the replay: the episodes of many rules in ONE query, replayed in Python.

`suggestions_for_rules` is what the review page calls for every flagged rule of its agenda:
one query for the rules (or none, when given rule objects) and one for all their episodes in
the window, as tuples (`values_list`), however many rules there are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import Exists, OuterRef

from alerts.models import AlertRule, Engagement, Episode, Feedback
from alerts.replay.engine import (
    EpisodeRow,
    Outcome,
    RuleInfo,
    RuleReplay,
    Settings,
    Suggestion,
    candidates,
    suggest,
)
from alerts.replay.notify import Timing
from alerts.replay.routing import Route, configured_routes
from core.choices import INTERRUPTING_SEVERITIES

ZERO = timedelta(0)


def replay_settings() -> Settings:
    return Settings(
        step=timedelta(seconds=settings.STEWARD_REPLAY_EVALUATION_SECONDS),
        regret_delay=timedelta(seconds=settings.STEWARD_REPLAY_REGRET_DELAY_SECONDS),
        transient=timedelta(seconds=settings.STEWARD_TRANSIENT_SECONDS),
        flap_window=timedelta(seconds=settings.STEWARD_FLAP_WINDOW_SECONDS),
        min_removed=settings.STEWARD_REPLAY_MIN_PAGES_REMOVED,
    )


def replay_window(now: datetime, weeks: int | None = None) -> tuple[datetime, datetime]:
    return now - timedelta(weeks=weeks or settings.STEWARD_REPLAY_WEEKS), now


def rule_info(rule: AlertRule, routes: Route) -> RuleInfo:
    labels = {**(rule.labels or {}), "alertname": rule.alertname}
    if rule.severity:
        labels.setdefault("severity", rule.severity)
    zone_name = rule.owner_team.timezone if rule.owner_team_id and rule.owner_team else "UTC"
    try:
        zone = ZoneInfo(zone_name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    timing: Timing = routes.timing_for(labels)
    return RuleInfo(
        id=rule.pk,
        alertname=rule.alertname,
        for_=rule.for_duration or ZERO,
        keep_firing_for=rule.keep_firing_for or ZERO,
        pages=rule.severity in INTERRUPTING_SEVERITIES,
        zone=zone,
        timing=timing,
    )


def episodes_by_rule(
    rule_ids: Iterable[int], *, start: datetime, end: datetime
) -> dict[int, list[EpisodeRow]]:
    """Episodes that started in [start, end), with whether someone engaged or called them
    actionable: one query, tuples only."""
    rows = (
        Episode.objects.filter(rule_id__in=list(rule_ids), starts_at__gte=start, starts_at__lt=end)
        .annotate(
            engaged=Exists(Engagement.objects.filter(episode_id=OuterRef("pk"))),
            acted=Exists(Feedback.objects.filter(episode_id=OuterRef("pk"), actionable=True)),
        )
        .order_by()
        .values_list("id", "rule_id", "fingerprint", "starts_at", "ends_at", "engaged", "acted")
    )
    grouped: dict[int, list[EpisodeRow]] = defaultdict(list)
    for pk, rule_id, fingerprint, starts_at, ends_at, engaged, acted in rows:
        grouped[rule_id].append(
            EpisodeRow(pk, fingerprint, starts_at, ends_at, bool(engaged), bool(acted))
        )
    return grouped


@dataclass(frozen=True)
class RuleGrid:
    rule: AlertRule
    current: Outcome
    outcomes: list[Outcome]
    suggestion: Suggestion | None
    start: datetime
    end: datetime


def _replays(
    rules: Sequence[AlertRule], *, now: datetime, weeks: int | None = None
) -> list[tuple[AlertRule, RuleReplay]]:
    start, end = replay_window(now, weeks)
    routes = configured_routes()
    episodes = episodes_by_rule([r.pk for r in rules], start=start, end=end)
    config = replay_settings()
    return [
        (
            rule,
            RuleReplay(
                rule_info(rule, routes), episodes.get(rule.pk, []), settings=config, until=end
            ),
        )
        for rule in rules
    ]


def suggestions_for_rules(
    rules: Sequence[AlertRule], *, now: datetime, weeks: int | None = None
) -> dict[int, Suggestion]:
    """The suggested change per rule id (rules without one are left out). The rules come with
    `owner_team` loaded (select_related); one query for all their episodes."""
    found: dict[int, Suggestion] = {}
    for rule, replay in _replays(rules, now=now, weeks=weeks):
        suggestion = suggest(replay)
        if suggestion is not None:
            found[rule.pk] = suggestion
    return found


def rule_grid(rule: AlertRule, *, now: datetime, weeks: int | None = None) -> RuleGrid:
    """Every candidate on the grid for one rule, the current settings first."""
    start, end = replay_window(now, weeks)
    ((_, replay),) = _replays([rule], now=now, weeks=weeks)
    info = replay.rule
    current = replay.run(info.for_, info.keep_firing_for)
    outcomes = [replay.run(f, k) for f, k in candidates(info)]
    return RuleGrid(rule, current, outcomes, suggest(replay), start, end)
