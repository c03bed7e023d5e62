"""Co-firing pairs of one week: for rule A and rule B, the share of A's episodes that started
within the window (2 minutes) of an episode of B.

The self-join is an equi-join on time buckets as wide as the window (an episode can only meet
episodes in its own bucket and the two next to it), then an exact test on the milliseconds; so
the work grows with the week's episodes times their density, never with rules squared. Only
pairs above `STORE_MIN_RATIO` are kept: below half, co-firing is coincidence and storing every
chance meeting of a busy week would mean millions of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from alerts.models import Episode
from alerts.noise.sql import db_datetime, epoch_ms, fetch_all

STORE_MIN_RATIO = 0.5


@dataclass(frozen=True)
class Pair:
    rule_id: int
    other_id: int
    episodes: int
    co_fired: int

    @property
    def ratio(self) -> float:
        return self.co_fired / self.episodes


def week_cofiring(*, start: datetime, end: datetime) -> list[Pair]:
    episode = Episode._meta.db_table
    window = timedelta(seconds=settings.STEWARD_COFIRING_WINDOW_SECONDS)
    window_ms = settings.STEWARD_COFIRING_WINDOW_SECONDS * 1000
    params = {
        "start": db_datetime(start),
        "end": db_datetime(end),
        "b_start": db_datetime(start - window),
        "b_end": db_datetime(end + window),
        "w": window_ms,
        "min_ratio": STORE_MIN_RATIO,
    }
    columns = f"e.id, e.rule_id, {epoch_ms('e.starts_at')} AS s_ms"
    sql = f"""
WITH a AS (
  SELECT {columns} FROM {episode} e WHERE e.starts_at >= %(start)s AND e.starts_at < %(end)s
),
b AS (
  SELECT {columns} FROM {episode} e WHERE e.starts_at >= %(b_start)s AND e.starts_at < %(b_end)s
),
ab AS MATERIALIZED (SELECT a.*, a.s_ms / %(w)s AS bucket FROM a),
bb AS MATERIALIZED (SELECT b.*, b.s_ms / %(w)s AS bucket FROM b),
shifts(k) AS (VALUES (-1), (0), (1)),
pairs AS (
  SELECT DISTINCT ab.id AS aid, ab.rule_id AS r, bb.rule_id AS o
  FROM ab CROSS JOIN shifts
  JOIN bb ON bb.bucket = ab.bucket + shifts.k
  WHERE bb.rule_id <> ab.rule_id AND bb.s_ms - ab.s_ms <= %(w)s AND ab.s_ms - bb.s_ms <= %(w)s
),
fires AS (SELECT a.rule_id, COUNT(*) AS n FROM a GROUP BY a.rule_id)
SELECT p.r, p.o, f.n, COUNT(*) AS co
FROM pairs p JOIN fires f ON f.rule_id = p.r
GROUP BY p.r, p.o, f.n
HAVING COUNT(*) >= %(min_ratio)s * f.n
"""  # noqa: S608 (identifiers and code-built fragments only; values are parameters)
    return [
        Pair(rule_id=int(r), other_id=int(o), episodes=int(n), co_fired=int(co))
        for r, o, n, co in fetch_all(sql, params)
    ]
