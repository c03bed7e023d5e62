"""UTC-offset ranges of the owner teams' timezones over a week.

SQLite cannot convert time zones, so the statistics query joins each episode's start to a small
table of (timezone, from, to, offset) rows built here from zoneinfo: a handful of rows per
timezone (two around a DST change), the same input on both databases.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alerts.noise.sql import to_ms

_STEP = timedelta(hours=1)


def offset_ranges(
    timezones: Iterable[str], start: datetime, end: datetime
) -> list[tuple[str, int, int, int]]:
    """(tz, from_ms, to_ms, offset_ms) rows covering [start, end) for every timezone.

    Offsets change on whole hours in every zone Steward's teams use in practice, so an hourly
    scan finds the transitions; 169 steps per zone and week is negligible. The first and last
    ranges are widened to cover any start the query can meet.
    """
    rows: list[tuple[str, int, int, int]] = []
    for name in sorted(set(timezones) | {"UTC"}):
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")  # a bad name was rejected on save; never crash an evaluation
        range_start = start
        offset = _offset(zone, start)
        moment = start + _STEP
        while moment < end:
            current = _offset(zone, moment)
            if current != offset:
                change = _transition(zone, moment - _STEP, moment)
                rows.append((name, to_ms(range_start), to_ms(change), offset))
                range_start, offset = change, current
            moment += _STEP
        rows.append((name, to_ms(range_start), to_ms(end), offset))
    return _widen(rows)


def _offset(zone: ZoneInfo, moment: datetime) -> int:
    delta = moment.astimezone(zone).utcoffset() or timedelta(0)
    return int(delta.total_seconds() * 1000)


def _transition(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first minute in (before, after] whose offset differs from before's."""
    offset = _offset(zone, before)
    moment = before
    while moment < after:
        moment += timedelta(minutes=1)
        if _offset(zone, moment) != offset:
            return moment
    return after


def _widen(rows: list[tuple[str, int, int, int]]) -> list[tuple[str, int, int, int]]:
    """Open the outer ends of each zone's ranges so every instant maps to one row."""
    low, high = 0, to_ms(datetime(9999, 1, 1, tzinfo=UTC))
    out: list[tuple[str, int, int, int]] = []
    for i, (name, lo, hi, off) in enumerate(rows):
        first = i == 0 or rows[i - 1][0] != name
        last = i == len(rows) - 1 or rows[i + 1][0] != name
        out.append((name, low if first else lo, high if last else hi, off))
    return out
