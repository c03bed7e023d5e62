"""The week helpers at awkward moments, with "now" pinned: weeks are UTC for every team."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.weeks import (
    current_week,
    last_complete_week,
    parse_week,
    week_bounds,
    week_elapsed_share,
    week_of,
    week_shift,
    weeks_back,
)

BERLIN = ZoneInfo("Europe/Berlin")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


@pytest.mark.parametrize(
    ("now", "running", "last_complete"),
    [
        # The first instant of a week: the week that just ended is complete.
        (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), "2026-W48", "2026-W47"),
        # The last minute of a Sunday: that week is still running.
        (datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC), "2026-W47", "2026-W46"),
        # Monday 00:30 in Berlin is Sunday 23:30 UTC: the UTC week has not ended yet.
        (datetime(2026, 11, 23, 0, 30, tzinfo=BERLIN), "2026-W47", "2026-W46"),
        # Sunday 16:00 in Los Angeles (PST, UTC-8) is Monday 00:00 UTC: a new week.
        (datetime(2026, 11, 22, 16, 0, tzinfo=LOS_ANGELES), "2026-W48", "2026-W47"),
        # The night DST starts in Europe (Sunday 29 March 2026, 02:00 -> 03:00 CEST).
        (datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN), "2026-W13", "2026-W12"),
        # Monday 00:00 CEST after that night is still Sunday 22:00 UTC.
        (datetime(2026, 3, 30, 0, 0, tzinfo=BERLIN), "2026-W13", "2026-W12"),
        # The night DST ends (Sunday 25 October 2026, 03:00 CEST -> 02:00 CET), 02:30 twice.
        (datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN), "2026-W43", "2026-W42"),
        # Year ends: 2026 has 53 ISO weeks, 2027 begins on Monday 4 January.
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "2026-W53", "2026-W52"),
        (datetime(2027, 1, 3, 23, 59, tzinfo=UTC), "2026-W53", "2026-W52"),
        (datetime(2027, 1, 4, 0, 0, tzinfo=UTC), "2027-W01", "2026-W53"),
        # 29 December 2025 is in ISO week 1 of 2026; the week before is 2025's last.
        (datetime(2025, 12, 29, 0, 0, tzinfo=UTC), "2026-W01", "2025-W52"),
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), "2026-W01", "2025-W52"),
    ],
)
def test_running_and_last_complete_week(now: datetime, running: str, last_complete: str) -> None:
    assert current_week(now) == running
    assert last_complete_week(now) == last_complete


def test_week_of_a_date_is_its_calendar_week() -> None:
    assert week_of(date(2026, 11, 22)) == "2026-W47"
    assert week_of(date(2026, 11, 23)) == "2026-W48"


@pytest.mark.parametrize(
    ("now", "share"),
    [
        (datetime(2026, 11, 22, 23, 59, tzinfo=UTC), 0.0),  # before W48 starts
        (datetime(2026, 11, 23, 0, 0, tzinfo=UTC), 0.0),
        (datetime(2026, 11, 26, 12, 0, tzinfo=UTC), 0.5),  # Thursday noon
        (datetime(2026, 11, 26, 13, 0, tzinfo=BERLIN), 0.5),  # the same instant in Berlin
        (datetime(2026, 11, 30, 0, 0, tzinfo=UTC), 1.0),  # the week has ended
        (datetime(2027, 6, 1, tzinfo=UTC), 1.0),
    ],
)
def test_elapsed_share_of_a_week(now: datetime, share: float) -> None:
    assert week_elapsed_share("2026-W48", now) == share


@pytest.mark.parametrize("week", ["9999-W52", "0001-W01", "1969-W30", "9999-W01"])
def test_weeks_outside_the_kept_years_are_refused(week: str) -> None:
    with pytest.raises(ValueError, match="out of range: weeks run from 1970 to 9998"):
        parse_week(week)


def test_the_edge_weeks_have_bounds_and_neighbours() -> None:
    for week in ("1970-W01", "9998-W52"):
        start, end = week_bounds(week)
        assert end - start == timedelta(days=7)
        assert len(weeks_back(week, 12)) == 12
        assert week_shift(week, 1)
