"""Alertmanager's notification timing for one aggregation group (dispatch.go, notify.go).

A group starts when its first alert arrives and is flushed `group_wait` later, then every
`group_interval`. At a flush, a notification goes out when an alert fires that was not in the
last notification, or when `repeat_interval` has passed since the last one and something still
fires. A group whose alerts all resolved before a flush announces nothing new and, once empty,
is deleted: the next alert starts a new group with a new `group_wait`.

A notification that announces at least one new alert is a *page* for a paging severity;
repeats are notifications but do not page again (PagerDuty and Opsgenie deduplicate on the
group key). Resolved notifications are not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from alerts.replay.semantics import OPEN, Interval, segment_running_max


@dataclass(frozen=True)
class Timing:
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta


@dataclass(frozen=True)
class Notification:
    at: datetime
    new: bool  # announces an alert not in the previous notification (False: a repeat)


def notifications(
    intervals: Sequence[Interval], timing: Timing, *, until: datetime
) -> list[Notification]:
    """Firing notifications of one group whose alerts fire over `intervals` (any order),
    flushes up to `until` included. Linear in the number of intervals: flushes at which
    nothing can change are skipped."""
    events = sorted(intervals, key=lambda i: i.start)
    out: list[Notification] = []
    index, count = 0, len(events)
    gi = timing.group_interval
    while index < count:
        first = events[index].start  # a new group: its first alert arrives
        if first > until:
            break
        tick = first + timing.group_wait
        last_sent: datetime | None = None
        waiting: list[datetime | None] = []  # ends of alerts not yet in a notification
        active_end = first  # latest end among the group's alerts (when not open_ended)
        open_ended = False
        while tick <= until:
            while index < count and events[index].start <= tick:
                end = events[index].end
                waiting.append(end)
                if end is None:
                    open_ended = True
                elif end > active_end:
                    active_end = end
                index += 1
            # Alerts that resolved before this flush will never be announced as firing.
            waiting = [end for end in waiting if end is None or end > tick]
            still_firing = open_ended or active_end > tick
            if waiting:
                out.append(Notification(tick, True))
                last_sent = tick
                waiting = []
            elif (
                still_firing
                and last_sent is not None
                and tick - last_sent >= timing.repeat_interval
            ):
                out.append(Notification(tick, False))
                last_sent = tick
            if not still_firing:
                break  # the group is empty after this flush: deleted
            # The next flush at which something can change: an arrival, the last end, a repeat.
            horizon = events[index].start if index < count else until + gi
            if not open_ended:
                horizon = min(horizon, active_end)
            if last_sent is not None:
                horizon = min(horizon, last_sent + timing.repeat_interval)
            steps = max(1, -(-(horizon - tick) // gi))
            tick += steps * gi
        else:
            while index < count and events[index].start <= until:
                index += 1
    return out


def notification_count(
    starts: Sequence[int],
    ends: Sequence[int],
    *,
    group_wait: int,
    group_interval: int,
    repeat_interval: int,
    until: int,
    new_at: list[int] | None = None,
) -> tuple[int, int]:
    """`notifications` for integer times (microseconds; `ends[i]` = OPEN: still firing), the
    intervals sorted by start: (notifications announcing a new alert, all notifications);
    `new_at`, when given, gets the times of the former. Property-tested against
    `notifications` in tests/alerts/replay/test_arrays.py."""
    new = total = 0
    index, count = 0, len(starts)
    gi = group_interval
    while index < count:
        first = starts[index]
        if first > until:
            break
        tick = first + group_wait
        last_sent: int | None = None
        # The latest end among the alerts that arrived since the last flush: one of them is
        # still firing (and so announced) iff it ends after this flush.
        waiting_end: int | None = None
        active_end = first
        while tick <= until:
            while index < count and starts[index] <= tick:
                end = ends[index]
                if waiting_end is None or end > waiting_end:
                    waiting_end = end
                if end > active_end:
                    active_end = end
                index += 1
            still_firing = active_end > tick
            if waiting_end is not None and waiting_end > tick:
                new += 1
                total += 1
                last_sent = tick
                if new_at is not None:
                    new_at.append(tick)
            elif still_firing and last_sent is not None and tick - last_sent >= repeat_interval:
                total += 1
                last_sent = tick
            waiting_end = None
            if not still_firing:
                break
            # (Comparisons rather than min()/max(): this loop is the hot path of the search.)
            horizon = starts[index] if index < count else until + gi
            if active_end < horizon:
                horizon = active_end
            if last_sent is not None and last_sent + repeat_interval < horizon:
                horizon = last_sent + repeat_interval
            steps = -(-(horizon - tick) // gi)
            tick += (steps if steps > 1 else 1) * gi
        else:
            while index < count and starts[index] <= until:
                index += 1
    return new, total


@dataclass(frozen=True)
class NoiseBounds:
    """Per segment (rule) of `noise_bounds`: bounds on the new and on all notifications."""

    new_low: npt.NDArray[np.int64]
    new_high: npt.NDArray[np.int64]
    total_low: npt.NDArray[np.int64]
    total_high: npt.NDArray[np.int64]


def noise_bounds(
    segment: npt.NDArray[np.intp],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    *,
    segments: int,
    group_wait: npt.NDArray[np.int64],
    group_interval: npt.NDArray[np.int64],
    repeat_interval: npt.NDArray[np.int64],
    until: int,
) -> NoiseBounds:
    """Bounds on `notification_count` for many groups at once: intervals sorted by
    (`segment`, start), timings per interval. Exact (low == high) for a group whose alerts
    never come within `group_interval` of each other.

    Clusters: an interval that starts at least `group_interval` after every earlier one of its
    segment has ended, and more than `group_wait` after the latest earlier start, comes after
    the flush that found the group empty (the group's first flush is `group_wait` after its
    first alert, the later ones `group_interval` apart), so it starts a new aggregation group;
    clusters are independent. In a cluster, with R = `repeat_interval`
    rounded up to whole `group_interval`s:

    * low: the first alert is announced at `start + group_wait` if it still fires then, and
      while the cluster fires without a gap a notification goes out at least every R; an
      alert that fires longer than max(`group_wait`, `group_interval`) after it starts is
      surely announced within that time, so such alerts that start further apart than it are
      announced by different notifications;
    * high: at most one new notification per alert, and repeats at least R apart within the
      cluster's span (first flush to last end).

    A cluster of one interval gets the same value from both: the closed form of its
    notifications."""
    n = len(starts)
    if n == 0:
        zero = np.zeros(segments, dtype=np.int64)
        return NoiseBounds(zero, zero, zero, zero)
    index = np.arange(n)
    new_segment = np.ones(n, dtype=bool)
    new_segment[1:] = segment[1:] != segment[:-1]
    latest = segment_running_max(ends, new_segment)
    before = np.empty(n, dtype=np.int64)
    before[0] = OPEN
    before[1:] = latest[:-1]
    finite_before = before != OPEN
    previous_start = np.empty(n, dtype=np.int64)
    previous_start[0] = starts[0]
    previous_start[1:] = starts[:-1]
    apart = (
        finite_before
        & (starts - group_interval >= np.where(finite_before, before, 0))
        & (starts - group_wait > previous_start)
    )
    opens = new_segment | apart
    heads = np.flatnonzero(opens)
    head_of = np.maximum.accumulate(np.where(opens, index, 0))
    sizes = np.diff(np.append(heads, n))
    head_start = starts[heads]
    head_end = ends[heads]
    gw, gi, ri = group_wait[heads], group_interval[heads], repeat_interval[heads]
    last_end = np.maximum.reduceat(ends, heads)
    tick = head_start + gw
    sent = (tick <= until) & (head_end > tick)
    period = np.maximum(1, -(-ri // gi)) * gi
    # Where the cluster first stops firing: the end before its first gap, else its last end.
    gap = ~opens & finite_before & (starts > before)
    first_gap = np.minimum.reduceat(np.where(gap, index, n), heads)
    has_gap = first_gap < n
    covered = np.where(has_gap, before[np.minimum(first_gap, n - 1)], last_end)
    covered_limit = np.where(covered == OPEN, until, np.minimum(until, covered - 1))
    total_low = np.where(sent, 1 + np.maximum(0, (covered_limit - tick) // period), 0)
    # Alerts surely announced, counted where they start further apart than the longest wait.
    reach = np.maximum(group_wait, group_interval)
    announced = (starts + reach <= until) & (ends > starts + reach)
    announced |= opens & (starts + group_wait <= until) & (ends > starts + group_wait)
    previous = np.empty(n, dtype=np.intp)
    previous[0] = -1
    previous[1:] = np.maximum.accumulate(np.where(announced, index, -1))[:-1]
    alone = previous < head_of
    counted = announced & (alone | (starts - starts[np.maximum(previous, 0)] > reach))
    new_low = np.add.reduceat(counted.astype(np.int64), heads)
    total_low = np.maximum(total_low, new_low)
    multi_limit = np.where(last_end == OPEN, until, np.minimum(until, last_end - 1))
    repeats_multi = np.maximum(0, (multi_limit - tick) // period)
    in_time = np.add.reduceat((starts <= until).astype(np.int64), heads)
    single = sizes == 1
    new_high = np.where(single, new_low, in_time)
    total_high = np.where(single, total_low, new_high + repeats_multi)
    owner = segment[heads]

    def by_segment(values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.bincount(owner, weights=values, minlength=segments).astype(np.int64)

    return NoiseBounds(
        by_segment(new_low), by_segment(new_high), by_segment(total_low), by_segment(total_high)
    )
