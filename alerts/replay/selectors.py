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

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, nullcontext
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
from django.db.models import Exists, OuterRef, QuerySet

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
logger = logging.getLogger(__name__)


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


def _in_window(rule_ids: Iterable[int], *, start: datetime, end: datetime) -> QuerySet[Episode]:
    """The episodes of these rules that started in [start, end), unordered."""
    return Episode.objects.filter(
        rule_id__in=list(rule_ids), starts_at__gte=start, starts_at__lt=end
    ).order_by()


def episodes_by_rule(
    rule_ids: Iterable[int], *, start: datetime, end: datetime
) -> dict[int, list[EpisodeRow]]:
    """Episodes that started in [start, end), with whether someone engaged or called them
    actionable: one query, tuples only."""
    rows = (
        _in_window(rule_ids, start=start, end=end)
        .annotate(
            engaged=Exists(Engagement.objects.filter(episode_id=OuterRef("pk"))),
            acted=Exists(Feedback.objects.filter(episode_id=OuterRef("pk"), actionable=True)),
        )
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


# One row: every column of the window's episodes as a binary array (array_send), the series
# as a 64-bit hash of the fingerprint (`hashtextextended`, far cheaper to build than the text),
# and the ids of the episodes someone engaged with or called actionable.
_ARRAYS_SQL = """
SELECT
  array_send(coalesce(array_agg(e.id), '{}')),
  array_send(coalesce(array_agg(e.rule_id), '{}')),
  array_send(coalesce(array_agg(e.starts_at), '{}')),
  array_send(coalesce(array_agg(coalesce(e.ends_at, 'infinity'::timestamptz)), '{}')),
  array_send(coalesce(array_agg(hashtextextended(e.fingerprint, 0)), '{}')),
  (SELECT array_send(coalesce(array_agg(g.episode_id), '{}')) FROM alerts_engagement g),
  (SELECT array_send(coalesce(array_agg(f.episode_id), '{}')) FROM alerts_feedback f
    WHERE f.actionable)
FROM alerts_episode e
WHERE e.rule_id = ANY(%(rules)s::bigint[]) AND e.starts_at >= %(start)s AND e.starts_at < %(end)s
"""
_HEADER = 20  # a one-dimensional array_send: ndim, flags, element type, length, lower bound
_INFINITY = np.iinfo(np.int64).max  # PostgreSQL's binary 'infinity' timestamp


def _int8s(data: bytes) -> npt.NDArray[np.int64]:
    """The values of array_send(bigint[] or timestamptz[]) without NULLs."""
    if len(data) <= _HEADER:
        return np.zeros(0, dtype=np.int64)
    record = np.dtype([("length", ">i4"), ("value", ">i8")])
    return np.frombuffer(data, dtype=record, offset=_HEADER)["value"].astype(np.int64)


def series_codes(rule: npt.NDArray[np.intp], hashes: npt.NDArray[np.int64]) -> npt.NDArray[np.intp]:
    """One code per (rule, fingerprint hash), numbered in that order.

    The screen works on these codes. Two fingerprints of one rule with the same 64-bit hash
    (about 1 in 10^19 per pair) would count as one series there; the suggestion chosen is then
    replayed in full on the exact fingerprints (`EpisodeArrays.rows`), so its figures are exact.
    """
    count = len(rule)
    if count == 0:
        return np.zeros(0, dtype=np.intp)
    # By hash (the fast unstable sort: equal hashes get one code whatever their order), then
    # stably by rule (a radix sort when the rule indexes fit 16 bits): a lexsort, 3x faster.
    order = np.argsort(hashes)
    by_rule = rule[order]
    if int(rule.max()) < 2**15:
        by_rule = by_rule.astype(np.int16)
    order = order[np.argsort(by_rule, kind="stable")]
    rule_sorted, hash_sorted = rule[order], hashes[order]
    fresh = np.ones(count, dtype=bool)
    fresh[1:] = (rule_sorted[1:] != rule_sorted[:-1]) | (hash_sorted[1:] != hash_sorted[:-1])
    codes = np.empty(count, dtype=np.intp)
    codes[order] = np.cumsum(fresh) - 1
    return codes


def fingerprints_by_rule(
    rule_ids: Sequence[int], *, start: datetime, end: datetime
) -> dict[int, str]:
    """Episode id -> fingerprint for the episodes of these rules that started in [start, end)
    (the rules a suggestion is replayed in full for), by the rule and start index."""
    return dict(_in_window(rule_ids, start=start, end=end).values_list("id", "fingerprint"))


def _array_columns(
    database: psycopg.Connection[Any], rule_ids: list[int], start: datetime, end: datetime
) -> list[npt.NDArray[np.int64]]:
    """`_ARRAYS_SQL` on a psycopg connection, its seven columns decoded."""
    params = {"rules": rule_ids, "start": start, "end": end}
    with psycopg.Cursor(database) as cursor:
        cursor.execute(_ARRAYS_SQL, params, binary=True)
        row = cursor.fetchone()
    if row is None:  # pragma: no cover - an aggregate without GROUP BY has one row
        raise RuntimeError("The episode array query returned no row.")
    return [_int8s(column) for column in row]


def _side_connections(count: int) -> list[psycopg.Connection[Any]]:
    """Up to `count` more connections to the database, for parts of the array query: none
    inside a transaction (another connection would not see its rows) or when connecting
    fails (the query then runs on Django's connection alone)."""
    if count <= 0 or connection.in_atomic_block:
        return []
    opened: list[psycopg.Connection[Any]] = []
    try:
        for _ in range(count):
            opened.append(psycopg.connect(**connection.get_connection_params(), autocommit=True))
    except psycopg.Error as error:
        logger.warning("replay query on one connection: %s", error)
    return opened


def _episode_columns(
    rules: Sequence[RuleInfo], *, start: datetime, end: datetime
) -> list[npt.NDArray[np.int64]]:
    """`_ARRAYS_SQL` for [start, end) on PostgreSQL, decoded.

    One PostgreSQL backend builds the arrays of a query on one core (PostgreSQL 15 has no
    parallel array_agg), so with STEWARD_REPLAY_QUERY_CONNECTIONS > 1 the window is split in as
    many parts by time, each queried on its own connection at once, and the parts joined
    (an episode's start never changes, so each is in exactly one part)."""
    rule_ids = [r.id for r in rules]
    sides = _side_connections(settings.STEWARD_REPLAY_QUERY_CONNECTIONS - 1)
    bounds = [start + (end - start) * k / (len(sides) + 1) for k in range(len(sides) + 2)]
    bounds[-1] = end
    with ExitStack() as stack:
        for side in sides:
            stack.enter_context(side)
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=max(1, len(sides))))
        later = [
            pool.submit(_array_columns, side, rule_ids, bounds[k + 1], bounds[k + 2])
            for k, side in enumerate(sides)
        ]
        # The first part on Django's connection, logged like Django's queries. Binary results
        # (bytea as bytes, not hex) need a server-binding cursor on it: Django's own cursors
        # bind client-side, which returns text only.
        params: dict[str, Any] = {"rules": rule_ids, "start": bounds[0], "end": bounds[1]}
        with connection.cursor() as wrapper:
            logged = (
                wrapper.debug_sql(_ARRAYS_SQL, params)
                if isinstance(wrapper, CursorDebugWrapper)
                else nullcontext()
            )
            with logged, connection.wrap_database_errors:
                parts = [_array_columns(wrapper.cursor.connection, rule_ids, bounds[0], bounds[1])]
        with connection.wrap_database_errors:
            parts += [part.result() for part in later]
    return [np.concatenate(columns) for columns in zip(*parts, strict=True)]


_ID_TABLE_MAX = 2**22  # rule ids up to this are mapped by a table (16 MB at most)


def _rule_indexes(rule_ids: npt.NDArray[np.int64], known: Sequence[int]) -> npt.NDArray[np.intp]:
    """The index in `known` of each of `rule_ids` (all of which are in it): by a table as long
    as the largest id when it is small enough, else by a binary search."""
    largest = max(known)
    if largest < _ID_TABLE_MAX:
        table = np.full(largest + 1, -1, dtype=np.int32)
        table[list(known)] = np.arange(len(known), dtype=np.int32)
        return table[rule_ids].astype(np.intp)
    order = np.argsort(np.array(known, dtype=np.int64))
    return order[np.searchsorted(np.array(known, dtype=np.int64)[order], rule_ids)]


def episode_arrays(rules: Sequence[RuleInfo], *, start: datetime, end: datetime) -> EpisodeArrays:
    """The episodes of `rules` that started in [start, end) as arrays: one row of binary arrays
    per connection on PostgreSQL (`_episode_columns`), `episodes_by_rule` elsewhere."""
    if connection.vendor == "postgresql" and rules:
        ids, rule_ids, starts, ends, hashes, engaged, acted = _episode_columns(
            rules, start=start, end=end
        )
        rule = _rule_indexes(rule_ids, [r.id for r in rules])
        return EpisodeArrays(
            ids,
            rule,
            series_codes(rule, hashes),
            starts,
            np.where(ends == _INFINITY, OPEN, ends).astype(np.int64),
            np.isin(ids, engaged),
            np.isin(ids, acted),
            [],
            lambda indexes: fingerprints_by_rule(
                [rules[i].id for i in indexes], start=start, end=end
            ),
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
