"""Read side of the replay: the episodes of many rules in ONE query, replayed together.

`suggestions_for_rules` is what the review page calls for every flagged rule of its agenda:
one query for the rules (or none, when given rule objects) and one for all their episodes in
the window, however many rules there are. On PostgreSQL that query returns each column as one
binary array (`episode_arrays`), decoded by NumPy without a Python object per episode; the
search itself runs on those arrays (engine.suggest_many). `suggestions_for_rules_reference`
is the per-rule Python search over `episodes_by_rule`, kept as the reference the tests and
the bench compare with.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import psycopg
from django.conf import settings
from django.db import connection
from django.db.backends.utils import CursorDebugWrapper
from django.db.models import Exists, OuterRef

from alerts.models import AlertRule, Engagement, Episode, Feedback
from alerts.replay.engine import (
    EpisodeArrays,
    EpisodeRow,
    Outcome,
    RuleInfo,
    RuleReplay,
    Settings,
    Suggestion,
    candidates,
    suggest,
    suggest_many,
)
from alerts.replay.notify import Timing
from alerts.replay.routing import Route, configured_routes
from alerts.replay.semantics import OPEN
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


# One row: every column of the window's episodes as a binary array (array_send), the
# fingerprint as fixed-width text (two digits of length, then padded to FINGERPRINT_WIDTH), and
# the ids of the episodes someone engaged with or called actionable.
_ARRAYS_SQL = """
SELECT
  array_send(coalesce(array_agg(e.id), '{}')),
  array_send(coalesce(array_agg(e.rule_id), '{}')),
  array_send(coalesce(array_agg(e.starts_at), '{}')),
  array_send(coalesce(array_agg(coalesce(e.ends_at, 'infinity'::timestamptz)), '{}')),
  array_send(coalesce(array_agg(lpad(length(e.fingerprint)::text, 2, '0')
                                || rpad(e.fingerprint, %(pad)s)), '{}')),
  (SELECT array_send(coalesce(array_agg(g.episode_id), '{}')) FROM alerts_engagement g),
  (SELECT array_send(coalesce(array_agg(f.episode_id), '{}')) FROM alerts_feedback f
    WHERE f.actionable)
FROM alerts_episode e
WHERE e.rule_id = ANY(%(rules)s::bigint[]) AND e.starts_at >= %(start)s AND e.starts_at < %(end)s
"""
FINGERPRINT_WIDTH = 40  # bytes: 2 of length + the fingerprint (max_length 32) padded
_HEADER = 20  # a one-dimensional array_send: ndim, flags, element type, length, lower bound
_INFINITY = np.iinfo(np.int64).max  # PostgreSQL's binary 'infinity' timestamp
_MULTIPLIERS = tuple(
    np.uint64(m)
    for m in (
        0x9E3779B97F4A7C15,
        0xBF58476D1CE4E5B9,
        0x94D049BB133111EB,
        0xD6E8FEB86659FD93,
        0xA0761D6478BD642F,
        0xE7037ED1A0B428DB,
    )
)


def _int8s(data: bytes) -> npt.NDArray[np.int64]:
    """The values of array_send(bigint[] or timestamptz[]) without NULLs."""
    if len(data) <= _HEADER:
        return np.zeros(0, dtype=np.int64)
    record = np.dtype([("length", ">i4"), ("value", ">i8")])
    return np.frombuffer(data, dtype=record, offset=_HEADER)["value"].astype(np.int64)


def _series(
    data: bytes, rule: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], list[str]] | None:
    """Codes per (rule, fingerprint) from the fixed-width fingerprints, or None when some
    fingerprint is not ASCII (not fixed width then)."""
    count = len(rule)
    if count == 0:
        return np.zeros(0, dtype=np.intp), []
    record = np.dtype([("length", ">i4"), ("text", f"S{FINGERPRINT_WIDTH}")])
    if len(data) != _HEADER + count * record.itemsize:
        return None
    raw = np.frombuffer(data, dtype=record, offset=_HEADER)
    if not (raw["length"] == FINGERPRINT_WIDTH).all():
        return None
    words = np.ascontiguousarray(raw["text"]).view(np.uint64).reshape(count, -1)
    if int(rule.max()) >= 2**23:
        return None
    # Sort by (rule, a 40-bit hash of the fingerprint); equal keys are then checked for equal
    # fingerprints, so a collision is detected (and the exact fallback used), never merged.
    mixed = np.zeros(count, dtype=np.uint64)
    for column, multiplier in zip(range(words.shape[1]), _MULTIPLIERS, strict=False):
        mixed += words[:, column] * multiplier
    mixed ^= mixed >> np.uint64(29)
    mixed *= _MULTIPLIERS[-1]
    key = (rule.astype(np.uint64) << np.uint64(40)) | (mixed >> np.uint64(24))
    order = np.argsort(key)
    ordered = key[order]
    same = ordered[1:] == ordered[:-1]
    grouped = words[order]
    if (same & (grouped[1:] != grouped[:-1]).any(axis=1)).any():
        return None
    fresh = np.ones(count, dtype=bool)
    fresh[1:] = ~same
    codes = np.empty(count, dtype=np.intp)
    codes[order] = np.cumsum(fresh) - 1
    heads = order[fresh]
    names = [
        bytes(text[2 : 2 + int(text[:2])]).decode("ascii") for text in raw["text"][heads].tolist()
    ]
    return codes, names


def episode_arrays(rules: Sequence[RuleInfo], *, start: datetime, end: datetime) -> EpisodeArrays:
    """The episodes of `rules` that started in [start, end) as arrays, in one query (one row of
    binary arrays on PostgreSQL; `episodes_by_rule` elsewhere, or when a fingerprint is not
    ASCII)."""
    if connection.vendor == "postgresql" and rules:
        params: dict[str, Any] = {
            "pad": FINGERPRINT_WIDTH - 2,
            "rules": [r.id for r in rules],
            "start": start,
            "end": end,
        }
        # Binary results (bytea as bytes, not hex): a server-binding cursor on Django's
        # connection (Django's own cursors bind client-side, which returns text only), logged
        # like Django's queries.
        with connection.cursor() as wrapper:
            logged = (
                wrapper.debug_sql(_ARRAYS_SQL, params)
                if isinstance(wrapper, CursorDebugWrapper)
                else nullcontext()
            )
            with (
                logged,
                connection.wrap_database_errors,
                psycopg.Cursor(wrapper.cursor.connection) as cursor,
            ):
                cursor.execute(_ARRAYS_SQL, params, binary=True)
                row = cursor.fetchone()
        if row is None:  # pragma: no cover - an aggregate without GROUP BY has one row
            raise RuntimeError("The episode array query returned no row.")
        ids, rule_ids, starts, ends, fingerprints, engaged, acted = row
        index_of = {rule.id: index for index, rule in enumerate(rules)}
        known = np.array(sorted(index_of), dtype=np.int64)
        positions = np.array([index_of[int(i)] for i in known], dtype=np.intp)
        rule = positions[np.searchsorted(known, _int8s(rule_ids))]
        series = _series(bytes(fingerprints), rule)
        if series is not None:
            episode = _int8s(ids)
            finish = _int8s(ends)
            return EpisodeArrays(
                episode,
                rule,
                series[0],
                _int8s(starts),
                np.where(finish == _INFINITY, OPEN, finish).astype(np.int64),
                np.isin(episode, _int8s(engaged)),
                np.isin(episode, _int8s(acted)),
                series[1],
            )
    rows = episodes_by_rule([r.id for r in rules], start=start, end=end)
    return EpisodeArrays.from_rows(rules, rows)


def suggestions_for_rules(
    rules: Sequence[AlertRule], *, now: datetime, weeks: int | None = None
) -> dict[int, Suggestion]:
    """The suggested change per rule id (rules without one are left out). The rules come with
    `owner_team` loaded (select_related); one query for all their episodes."""
    start, end = replay_window(now, weeks)
    routes = configured_routes()
    infos = [rule_info(rule, routes) for rule in rules]
    episodes = episode_arrays(infos, start=start, end=end)
    return suggest_many(infos, episodes, settings=replay_settings(), until=end)


def suggestions_for_rules_reference(
    rules: Sequence[AlertRule], *, now: datetime, weeks: int | None = None
) -> dict[int, Suggestion]:
    """`suggestions_for_rules` by the per-rule search (`suggest`) over `episodes_by_rule`."""
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
