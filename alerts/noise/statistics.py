"""Per-rule statistics of one ISO week, in ONE SQL statement over the week's episodes.

1. `base`: episodes overlapping [week start - flap window, week end), as three index range
   scans (started in that span; started earlier and ended inside it; started earlier and still
   open), with their start and end as epoch milliseconds.
2. `ep`: each episode's previous end for the same fingerprint (LAG, for flaps), whether it
   started in the week, whether someone engaged with it, its feedback, and the local hour and
   weekday of its start in the owner team's timezone (joined to `timezones.offset_ranges`).
3. `ranked`: the rank of each in-week episode by duration within its rule (for the median).
4. One GROUP BY rule_id computes every statistic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from alerts.models import AlertRule, Engagement, Episode, Feedback
from alerts.noise.interruptions import (
    BUSINESS_FROM_HOUR,
    BUSINESS_UNTIL_HOUR,
    BUSINESS_WEEKDAYS,
    SLEEP_FROM_HOUR,
    SLEEP_UNTIL_HOUR,
)
from alerts.noise.sql import db_datetime, epoch_ms, fetch_all, greatest, least, to_ms
from alerts.noise.timezones import offset_ranges
from core.choices import INTERRUPTING_SEVERITIES
from fleet.models import Team

DAY_MS = 86_400_000
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class RuleStats:
    rule_id: int
    fires: int
    firing_seconds: float
    median_duration_seconds: float | None
    engaged_ratio: float | None
    transient_ratio: float | None
    flaps: int
    interruptions_business: int
    interruptions_off: int
    interruptions_sleep: int
    feedback_count: int
    actionable_ratio: float | None
    longest_open_seconds: float


def week_statistics(*, start: datetime, end: datetime, now: datetime) -> dict[int, RuleStats]:
    """Statistics of every rule with an episode overlapping [start, end), keyed by rule id."""
    timezones = Team.objects.values_list("timezone", flat=True).distinct()
    zones = offset_ranges(list(timezones), start - timedelta(days=1), end + timedelta(days=1))
    sql, params = _statistics_sql(start=start, end=end, now=now, zones=zones)
    stats: dict[int, RuleStats] = {}
    for row in fetch_all(sql, params):
        (rule_id, fires, firing_ms, median_ms, engaged, transient, flaps) = row[:7]
        (business, off, sleep, feedback, actionable, longest_ms) = row[7:]
        fires = int(fires or 0)
        feedback = int(feedback or 0)
        stats[int(rule_id)] = RuleStats(
            rule_id=int(rule_id),
            fires=fires,
            firing_seconds=int(firing_ms or 0) / 1000,
            median_duration_seconds=None if median_ms is None else float(median_ms) / 1000,
            engaged_ratio=_ratio(engaged, fires),
            transient_ratio=_ratio(transient, fires),
            flaps=int(flaps or 0),
            interruptions_business=int(business or 0),
            interruptions_off=int(off or 0),
            interruptions_sleep=int(sleep or 0),
            feedback_count=feedback,
            actionable_ratio=_ratio(actionable, feedback),
            longest_open_seconds=int(longest_ms or 0) / 1000,
        )
    return stats


def _ratio(part: Any, whole: int) -> float | None:
    return None if not whole else int(part or 0) / whole


def _statistics_sql(
    *, start: datetime, end: datetime, now: datetime, zones: list[tuple[str, int, int, int]]
) -> tuple[str, dict[str, object]]:
    episode = Episode._meta.db_table
    rule = AlertRule._meta.db_table
    team = Team._meta.db_table
    engagement = Engagement._meta.db_table
    feedback = Feedback._meta.db_table
    lookback = start - timedelta(seconds=settings.STEWARD_FLAP_WINDOW_SECONDS)
    as_of = min(now, end)
    params: dict[str, object] = {
        "lb": db_datetime(lookback),
        "start": db_datetime(start),
        "end": db_datetime(end),
        "start_ms": to_ms(start),
        "end_ms": to_ms(end),
        "now_ms": to_ms(now),
        "as_of_ms": to_ms(as_of),
        "flap_ms": settings.STEWARD_FLAP_WINDOW_SECONDS * 1000,
        "transient_ms": settings.STEWARD_TRANSIENT_SECONDS * 1000,
        "engage_ms": settings.STEWARD_ENGAGEMENT_WINDOW_SECONDS * 1000,
        "sev0": str(INTERRUPTING_SEVERITIES[0]),
        "sev1": str(INTERRUPTING_SEVERITIES[1]),
    }
    values = []
    for i, (name, lo, hi, off) in enumerate(zones):
        params.update({f"tz{i}": name, f"lo{i}": lo, f"hi{i}": hi, f"off{i}": off})
        values.append(f"(%(tz{i})s, %(lo{i})s, %(hi{i})s, %(off{i})s)")
    columns = f"e.id, e.rule_id, e.fingerprint, e.starts_at, e.ends_at, {epoch_ms('e.starts_at')} AS s_ms, {epoch_ms('e.ends_at')} AS e_ms"  # noqa: E501
    end_or_now = "COALESCE(ep.e_ms, %(now_ms)s)"
    firing = greatest(
        f"{least(end_or_now, '%(end_ms)s')} - {greatest('ep.s_ms', '%(start_ms)s')}", "0"
    )
    local_ms = "(r.s_ms + r.off)"
    hour = f"(({local_ms} %% {DAY_MS}) / {HOUR_MS})"
    weekday = f"((({local_ms} / {DAY_MS}) + 3) %% 7)"  # 1970-01-01 was a Thursday; Monday = 0
    sleep = f"({hour} >= {SLEEP_FROM_HOUR} OR {hour} < {SLEEP_UNTIL_HOUR})"
    business = (
        f"({weekday} < {BUSINESS_WEEKDAYS} AND {hour} >= {BUSINESS_FROM_HOUR}"
        f" AND {hour} < {BUSINESS_UNTIL_HOUR})"
    )
    interrupting = "(r.in_week = 1 AND r.severity IN (%(sev0)s, %(sev1)s))"
    sql = f"""
WITH tzr(tz, lo, hi, off) AS (VALUES {", ".join(values)}),
base AS (
  SELECT {columns} FROM {episode} e WHERE e.starts_at >= %(lb)s AND e.starts_at < %(end)s
  UNION ALL
  SELECT {columns} FROM {episode} e WHERE e.starts_at < %(lb)s AND e.ends_at > %(lb)s
  UNION ALL
  SELECT {columns} FROM {episode} e WHERE e.starts_at < %(lb)s AND e.ends_at IS NULL
),
ep AS (
  SELECT b.*,
    CASE WHEN b.s_ms >= %(start_ms)s THEN 1 ELSE 0 END AS in_week,
    LAG(b.e_ms) OVER (PARTITION BY b.fingerprint ORDER BY b.s_ms, b.id) AS prev_end
  FROM base b
),
wk AS (
  SELECT ep.*, {firing} AS firing_ms,
    {end_or_now} - ep.s_ms AS dur_ms,
    CASE WHEN ep.in_week = 1 AND EXISTS (
      SELECT 1 FROM {engagement} g WHERE g.episode_id = ep.id AND g.at >= ep.starts_at
        AND (ep.ends_at IS NULL OR g.at <= ep.ends_at
             OR {epoch_ms("g.at")} <= ep.s_ms + %(engage_ms)s)
    ) THEN 1 ELSE 0 END AS engaged,
    COALESCE(fb.n, 0) AS fb_n, COALESCE(fb.a, 0) AS fb_a,
    ru.severity AS severity, COALESCE(tzr.off, 0) AS off
  FROM ep
  JOIN {rule} ru ON ru.id = ep.rule_id
  LEFT JOIN {team} t ON t.id = ru.owner_team_id
  LEFT JOIN tzr ON tzr.tz = COALESCE(t.timezone, 'UTC') AND ep.s_ms >= tzr.lo AND ep.s_ms < tzr.hi
  LEFT JOIN (
    SELECT f.episode_id, COUNT(*) AS n, SUM(CASE WHEN f.actionable THEN 1 ELSE 0 END) AS a
    FROM {feedback} f JOIN {episode} fe ON fe.id = f.episode_id
    WHERE fe.starts_at >= %(start)s AND fe.starts_at < %(end)s
    GROUP BY f.episode_id
  ) fb ON fb.episode_id = ep.id AND ep.in_week = 1
  WHERE ep.s_ms < %(end_ms)s
),
ranked AS (
  SELECT wk.*,
    ROW_NUMBER() OVER (PARTITION BY wk.rule_id, wk.in_week ORDER BY wk.dur_ms, wk.id) AS rn,
    COUNT(*) OVER (PARTITION BY wk.rule_id, wk.in_week) AS cnt
  FROM wk
)
SELECT r.rule_id,
  SUM(r.in_week) AS fires,
  SUM(r.firing_ms) AS firing_ms,
  AVG(CASE WHEN r.in_week = 1 AND (r.rn = (r.cnt + 1) / 2 OR r.rn = (r.cnt + 2) / 2)
      THEN r.dur_ms END) AS median_ms,
  SUM(r.engaged) AS engaged,
  SUM(CASE WHEN r.in_week = 1 AND r.e_ms IS NOT NULL AND r.e_ms - r.s_ms <= %(transient_ms)s
      AND r.engaged = 0 THEN 1 ELSE 0 END) AS transient,
  SUM(CASE WHEN r.in_week = 1 AND r.prev_end IS NOT NULL AND r.s_ms >= r.prev_end
      AND r.s_ms - r.prev_end <= %(flap_ms)s THEN 1 ELSE 0 END) AS flaps,
  SUM(CASE WHEN {interrupting} AND {business} THEN 1 ELSE 0 END) AS business,
  SUM(CASE WHEN {interrupting} AND NOT {business} AND NOT {sleep} THEN 1 ELSE 0 END) AS off,
  SUM(CASE WHEN {interrupting} AND {sleep} THEN 1 ELSE 0 END) AS sleep,
  SUM(r.fb_n) AS feedback,
  SUM(r.fb_a) AS actionable,
  MAX(CASE WHEN r.s_ms < %(as_of_ms)s AND (r.e_ms IS NULL OR r.e_ms > %(as_of_ms)s)
      THEN %(as_of_ms)s - r.s_ms ELSE 0 END) AS longest_ms
FROM ranked r
GROUP BY r.rule_id
"""  # noqa: S608 (identifiers and code-built fragments only; values are parameters)
    return sql, params


def previous_weeks_fires(*, start: datetime, weeks: int = 4) -> dict[int, list[int]]:
    """Fires per rule in each of the `weeks` weeks before `start`, oldest first, zeros included."""
    episode = Episode._meta.db_table
    first = start - timedelta(weeks=weeks)
    params = {
        "first": db_datetime(first),
        "start": db_datetime(start),
        "first_ms": to_ms(first),
        "week_ms": 7 * DAY_MS,
    }
    sql = f"""
SELECT w.rule_id, w.bucket, COUNT(*) FROM (
  SELECT e.rule_id, ({epoch_ms("e.starts_at")} - %(first_ms)s) / %(week_ms)s AS bucket
  FROM {episode} e WHERE e.starts_at >= %(first)s AND e.starts_at < %(start)s
) w GROUP BY w.rule_id, w.bucket
"""  # noqa: S608 (identifiers and code-built fragments only; values are parameters)
    counts: dict[int, list[int]] = {}
    for rule_id, bucket, count in fetch_all(sql, params):
        counts.setdefault(int(rule_id), [0] * weeks)[int(bucket)] = int(count)
    return counts
