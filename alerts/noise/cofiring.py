"""Co-firing pairs of one week: for rule A and rule B, the share of A's episodes that started
within the window (2 minutes) of an episode of B.

Candidates come from start order: the week's episodes are sorted by (start, fingerprint) and
each is compared with its `NEIGHBOURS` predecessors and successors (LAG/LEAD in one window
pass, no self-join), keeping those of another rule within the window. The work is linear in
the week's episodes, whatever the number of rules or the density of the week.

Trade-off: comparing every episode with everything that started within the window is exact,
but its work grows with the square of the density: in the benchmark's 375,000-episode week each
episode has ~150 such neighbours, and that query was cancelled after two minutes. Nearest starts
are exact whenever fewer than `NEIGHBOURS` other episodes start between an episode and its
twin, which holds for duplicates (they fire within seconds of each other) except in the densest
weeks, where a duplicate can be missed.

Only pairs above `STORE_MIN_RATIO` are kept: below half, co-firing is coincidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from alerts.models import Episode
from alerts.noise.sql import db_datetime, epoch_ms, fetch_all, to_ms

STORE_MIN_RATIO = 0.5
NEIGHBOURS = 3


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
        "start_ms": to_ms(start),
        "end_ms": to_ms(end),
        "b_start": db_datetime(start - window),
        "b_end": db_datetime(end + window),
        "w": window_ms,
        "min_ratio": STORE_MIN_RATIO,
    }
    columns = f"e.id, e.rule_id, e.fingerprint, {epoch_ms('e.starts_at')} AS s_ms"
    offsets = [-k for k in range(1, NEIGHBOURS + 1)] + list(range(1, NEIGHBOURS + 1))
    neighbours = ", ".join(
        f"{'LAG' if k < 0 else 'LEAD'}(b.rule_id, {abs(k)}) OVER w AS r{i}, "
        f"{'LAG' if k < 0 else 'LEAD'}(b.s_ms, {abs(k)}) OVER w AS t{i}"
        for i, k in enumerate(offsets)
    )
    # Neighbour i counts when it is another rule, inside the window, and its rule did not
    # already appear among neighbours 0..i-1 inside the window (one count per episode and rule).
    near = [f"(r{i} <> rule_id AND ABS(t{i} - s_ms) <= %(w)s)" for i in range(len(offsets))]
    picks = " ".join(
        f"WHEN {i} THEN CASE WHEN {near[i]}"
        + "".join(f" AND NOT ({near[j]} AND r{j} = r{i})" for j in range(i))
        + f" THEN r{i} END"
        for i in range(len(offsets))
    )
    sql = f"""
WITH b AS (
  SELECT {columns} FROM {episode} e WHERE e.starts_at >= %(b_start)s AND e.starts_at < %(b_end)s
),
ordered AS (
  SELECT b.id, b.rule_id, b.s_ms, {neighbours} FROM b WINDOW w AS (ORDER BY b.s_ms, b.fingerprint)
),
a AS MATERIALIZED (
  SELECT o.* FROM ordered o WHERE o.s_ms >= %(start_ms)s AND o.s_ms < %(end_ms)s
),
slots(i) AS (VALUES {", ".join(f"({i})" for i in range(len(offsets)))}),
pairs AS (
  SELECT a.rule_id AS r, CASE slots.i {picks} END AS o FROM a CROSS JOIN slots
),
fires AS (SELECT a.rule_id, COUNT(*) AS n FROM a GROUP BY a.rule_id)
SELECT p.r, p.o, f.n, COUNT(*) AS co
FROM pairs p JOIN fires f ON f.rule_id = p.r
WHERE p.o IS NOT NULL
GROUP BY p.r, p.o, f.n
HAVING COUNT(*) >= %(min_ratio)s * f.n
"""  # noqa: S608 (identifiers and code-built fragments only; values are parameters)
    return [
        Pair(rule_id=int(r), other_id=int(o), episodes=int(n), co_fired=int(co))
        for r, o, n, co in fetch_all(sql, params)
    ]
