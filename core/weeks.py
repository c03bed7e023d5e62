"""ISO weeks as Steward names them: "2026-W47", Monday 00:00 UTC to the next Monday.

Weeks are UTC for everyone: the weekly statistics, flags and reviews are all keyed by these
weeks, so a team in Europe/Berlin or America/Los_Angeles sees the same week boundaries (and
the same numbers) as every other team. Functions that depend on "now" take it as an argument.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from django.utils import timezone

_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")

# The ISO years Steward keeps weeks for: far enough inside datetime's range (years 1 to 9999)
# that a week's end, the weeks before it (medians, trends) and the week after all exist.
FIRST_YEAR = 1970
LAST_YEAR = 9998


def week_of(moment: datetime | date) -> str:
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        # 00:30 on a Monday in Berlin is still Sunday in UTC, hence still the week before.
        moment = moment.astimezone(UTC)
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def week_in_range(moment: datetime) -> bool:
    """Whether `moment` falls in a week Steward keeps (see FIRST_YEAR and LAST_YEAR)."""
    return FIRST_YEAR <= int(week_of(moment)[:4]) <= LAST_YEAR


def current_week(now: datetime | None = None) -> str:
    """The running week: it has started and has not ended yet."""
    return week_of(now or timezone.now())


def last_complete_week(now: datetime | None = None) -> str:
    """The latest week that has ended by `now` (the one a weekly review looks back on)."""
    return week_shift(current_week(now), -1)


def week_elapsed_share(week: str, now: datetime | None = None) -> float:
    """How much of `week` has passed at `now`: 0.0 before it starts, 1.0 once it has ended."""
    start, end = week_bounds(week)
    elapsed = (now or timezone.now()) - start
    return min(1.0, max(0.0, elapsed / (end - start)))


def parse_week(week: str) -> tuple[int, int]:
    match = _WEEK_RE.match(week)
    if not match:
        raise ValueError(f"{week!r} is not an ISO week such as 2026-W47.")
    year, number = int(match.group(1)), int(match.group(2))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"{week} is out of range: weeks run from {FIRST_YEAR} to {LAST_YEAR}.")
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise ValueError(f"{year} has no week {number}.") from None
    return year, number


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """[start, end) of the week in UTC."""
    year, number = parse_week(week)
    monday = date.fromisocalendar(year, number, 1)
    start = datetime.combine(monday, time.min, tzinfo=UTC)
    return start, start + timedelta(days=7)


def week_shift(week: str, weeks: int) -> str:
    start, _ = week_bounds(week)
    return week_of(start + timedelta(weeks=weeks))


def weeks_back(week: str, count: int) -> list[str]:
    """`count` weeks ending with `week`, oldest first."""
    return [week_shift(week, -offset) for offset in range(count - 1, -1, -1)]
