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

from alerts.replay.semantics import Interval


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
