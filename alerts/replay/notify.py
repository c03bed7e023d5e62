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
    flushes up to `until` included."""
    events = sorted(intervals, key=lambda i: i.start)
    out: list[Notification] = []
    index = 0
    count = len(events)
    gi = timing.group_interval
    while index < count:
        # A new group: its first alert arrives.
        first = events[index].start
        if first > until:
            break
        tick = first + timing.group_wait
        last_sent: datetime | None = None
        announced_upto = index  # alerts [.., announced_upto) were in a notification
        active_end = first  # latest end among the group's alerts so far (None = open)
        open_ended = False
        while tick <= until:
            # Alerts that arrived by this flush join the group.
            while index < count and events[index].start <= tick:
                end = events[index].end
                if end is None:
                    open_ended = True
                elif end > active_end:
                    active_end = end
                index += 1
            firing_new = any(
                events[j].start <= tick and (events[j].end is None or events[j].end > tick)  # type: ignore[operator]
                for j in range(announced_upto, index)
            )
            still_firing = open_ended or active_end > tick
            if firing_new:
                out.append(Notification(tick, True))
                last_sent = tick
                announced_upto = index
            elif (
                still_firing
                and last_sent is not None
                and tick - last_sent >= timing.repeat_interval
            ):
                out.append(Notification(tick, False))
                last_sent = tick
            if not still_firing and (index >= count or events[index].start > tick):
                announced_upto = index
                break  # the group is empty after this flush: deleted
            # Jump to the next flush at which something can change: the next arrival, the next
            # end, or the next repeat.
            nxt = tick + gi
            if not firing_new and index < count and events[index].start > nxt:
                horizon = events[index].start
                if still_firing and not open_ended:
                    horizon = min(horizon, active_end)
                if still_firing and last_sent is not None:
                    horizon = min(horizon, last_sent + timing.repeat_interval)
                if horizon > nxt:
                    nxt = tick + ((horizon - tick) // gi) * gi
                    if nxt < horizon:
                        nxt += gi
            elif not firing_new and index >= count:
                horizon = until + gi
                if still_firing and not open_ended:
                    horizon = min(horizon, active_end)
                if still_firing and last_sent is not None:
                    horizon = min(horizon, last_sent + timing.repeat_interval)
                if horizon > nxt:
                    nxt = tick + ((horizon - tick) // gi) * gi
                    if nxt < horizon:
                        nxt += gi
            tick = nxt
        else:
            # Ran past `until`: skip the alerts of this group that are left before it.
            while index < count and events[index].start <= until:
                index += 1
    return out
