"""One pinned "now" for tests whose result would otherwise depend on the day they run.

NOW is a Wednesday at noon UTC in the middle of ISO week 2027-W07: after every fixed date the
tests use (fixtures of 2026-W47, alert captures of 2026-11-25), and days away from any week,
month, year or DST edge in every team's timezone. Tests pass it as `now=` where the code takes
one; where a view or task reads the clock itself, the `frozen_now` fixture (tests/conftest.py)
moves the clock there with time-machine. The clock keeps ticking from NOW, so durations and
orderings by creation time still behave.
"""

from __future__ import annotations

from datetime import UTC, datetime

from core.weeks import week_of, week_shift

NOW = datetime(2027, 2, 17, 12, 0, tzinfo=UTC)
THIS_WEEK = week_of(NOW)
LAST_WEEK = week_shift(THIS_WEEK, -1)
