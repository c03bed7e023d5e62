"""Prometheus alerting-rule state semantics: the one home (Prometheus 2.42 `rules/alerting.go`).

At every evaluation `ts` of a rule, for one alert series (one label set):

* the expression returns the series: a new alert starts *pending* with `ActiveAt = ts`
  (an alert already pending or firing stays as it is and forgets `KeepFiringSince`); a
  pending alert becomes *firing* at the first evaluation where `ts - ActiveAt >= for`
  (with `for: 0` that is the same evaluation);
* the expression does not return the series: a *pending* alert is dropped at once; a
  *firing* alert with `keep_firing_for > 0` stays firing while
  `ts - KeepFiringSince < keep_firing_for` (`KeepFiringSince` = the first such evaluation);
  otherwise it is resolved at this evaluation.

An `Interval` is what Alertmanager receives (`startsAt = FiredAt`, `endsAt = ResolvedAt`):
from the evaluation at which the alert became firing to the evaluation at which it was
resolved, `None` while it is still firing at the end of the input.

Two entry points:

* `alert_intervals_from_samples`: exact, for one series whose presence is known at every
  evaluation (Prometheus range-query results, generated test series). Checked against
  `promtool test rules` in tests/alerts/replay/test_promtool.py.
* `intervals_under_change` / `replay_episodes`: for *recorded episodes*, where only the
  firing intervals under the rule's current `for` (F0) and `keep_firing_for` (K0) are known.
  An episode firing from `start` to `end` means the condition held at the evaluations from
  `start - ceil(F0/step)*step` up to, not including, `end - ceil(K0/step)*step` (never
  less than the one evaluation at `start`). That condition is then replayed exactly with
  `alert_intervals_from_conditions`.

Approximations of the recorded-episode replay (the exact function is exact on its grid):

* Evaluation grid: recorded times are taken to lie on the rule group's evaluation grid
  (`step`, the group's `interval`); off-grid times are used as they are, so a moved start
  may be off by less than one step.
* A condition that never lasted `F0` left no episode, so it cannot be replayed: a shorter
  `for` than the current one is only a lower bound on fires.
* Conditions that the current `keep_firing_for` merged into one episode cannot be told
  apart: the episode counts as one condition from its first to its last evaluation.
* `for` state restored across a Prometheus restart and gaps in the data are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

ZERO = timedelta(0)


@dataclass(frozen=True)
class Interval:
    """An alert firing from `start` to `end` (the evaluation it resolved; None = still firing)."""

    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class Replay:
    """The replay of a list of conditions or episodes, aligned with its input.

    `firing_from[i]` is the first evaluation at which the alert is firing while input `i`'s
    condition holds (None: the condition never fires - dropped); `interval_of[i]` is the index
    in `intervals` of the alert interval that covers it (several inputs may share one when
    `keep_firing_for` merges them)."""

    intervals: list[Interval]
    firing_from: list[datetime | None]
    interval_of: list[int | None]


def steps_ceil(duration: timedelta, step: timedelta) -> timedelta:
    """`duration` rounded up to whole evaluation steps: the wait on an evaluation grid."""
    if step <= ZERO:
        raise ValueError("The evaluation step must be positive.")
    if duration <= ZERO:
        return ZERO
    return -(-duration // step) * step


def alert_intervals_from_samples(
    present: Sequence[bool],
    *,
    start: datetime,
    step: timedelta,
    for_: timedelta,
    keep_firing_for: timedelta,
) -> list[Interval]:
    """Firing intervals of one series evaluated at `start + k*step` (`present[k]`: returned).

    A direct transcription of `AlertingRule.Eval` for one fingerprint."""
    if step <= ZERO:
        raise ValueError("The evaluation step must be positive.")
    intervals: list[Interval] = []
    active_at: datetime | None = None  # pending or firing since
    fired_at: datetime | None = None  # firing since (None: pending or inactive)
    keep_since: datetime | None = None
    for index, is_present in enumerate(present):
        ts = start + index * step
        if is_present:
            if active_at is None:
                active_at = ts
            keep_since = None
            if fired_at is None and ts - active_at >= for_:
                fired_at = ts
            continue
        if active_at is None:
            continue
        if fired_at is not None and keep_firing_for > ZERO:
            if keep_since is None:
                keep_since = ts
            if ts - keep_since < keep_firing_for:
                continue
        if fired_at is not None:
            intervals.append(Interval(fired_at, ts))
        active_at = fired_at = keep_since = None
    if fired_at is not None:
        intervals.append(Interval(fired_at, None))
    return intervals


def alert_intervals_from_conditions(
    conditions: Sequence[tuple[datetime, datetime | None]],
    *,
    for_: timedelta,
    keep_firing_for: timedelta,
    step: timedelta,
    until: datetime | None = None,
) -> Replay:
    """Replay condition intervals `[first evaluation returned, first evaluation not returned)`.

    `None` as a condition end: still returned at the end of the input. `until`: the last
    evaluation of the input; an alert that would fire or resolve after it is still pending or
    still firing then. Equal to `alert_intervals_from_samples` when the conditions lie on
    its grid (the maximal runs of True). Conditions may come in any order; they must not
    overlap (overlapping ones are joined)."""
    if step <= ZERO:
        raise ValueError("The evaluation step must be positive.")
    wait = steps_ceil(for_, step)
    keep = steps_ceil(keep_firing_for, step)
    order = sorted(range(len(conditions)), key=lambda i: conditions[i][0])
    intervals: list[Interval] = []
    firing_from: list[datetime | None] = [None] * len(conditions)
    interval_of: list[int | None] = [None] * len(conditions)

    open_start: datetime | None = None  # the firing interval being built
    open_last_end = datetime.min.replace(tzinfo=UTC)  # end of its last condition, when open_ended
    open_ended = False  # False: the open alert's condition never ends

    def close() -> None:
        nonlocal open_start
        if open_start is None:
            return
        end: datetime | None = None
        if open_ended:
            end = open_last_end + keep
            if until is not None and end > until:
                end = None
        intervals.append(Interval(open_start, end))
        open_start = None

    for index in order:
        cond_start, cond_end = conditions[index]
        if until is not None and cond_start > until:
            continue
        if open_start is not None:
            if not open_ended:  # the open alert never resolves: everything later is inside it
                firing_from[index] = cond_start
                interval_of[index] = len(intervals)
                continue
            # Still firing at this evaluation if the evaluation before it was kept (or the
            # conditions touch or overlap).
            if cond_start <= open_last_end or cond_start - step - open_last_end < keep_firing_for:
                firing_from[index] = cond_start
                interval_of[index] = len(intervals)
                if cond_end is None:
                    open_ended = False
                else:
                    open_last_end = max(open_last_end, cond_end)
                continue
            close()
        fires_at = cond_start + wait
        if (cond_end is not None and fires_at >= cond_end) or (
            until is not None and fires_at > until
        ):
            continue  # pending only: dropped
        open_start = fires_at
        open_ended = cond_end is not None
        if cond_end is not None:
            open_last_end = cond_end
        firing_from[index] = fires_at
        interval_of[index] = len(intervals)
    close()
    return Replay(intervals, firing_from, interval_of)


def conditions_from_episodes(
    episodes: Sequence[tuple[datetime, datetime | None]],
    *,
    for_: timedelta,
    keep_firing_for: timedelta,
    step: timedelta,
) -> list[tuple[datetime, datetime | None]]:
    """Recorded firing intervals under `for_`/`keep_firing_for` -> the conditions behind them."""
    wait = steps_ceil(for_, step)
    keep = steps_ceil(keep_firing_for, step)
    conditions: list[tuple[datetime, datetime | None]] = []
    for start, end in episodes:
        cond_end = None if end is None else max(end - keep, start + step)
        conditions.append((start - wait, cond_end))
    return conditions


def replay_episodes(
    episodes: Sequence[tuple[datetime, datetime | None]],
    *,
    old_for: timedelta,
    new_for: timedelta,
    keep_firing_for_old: timedelta,
    keep_firing_for_new: timedelta,
    step: timedelta,
    until: datetime | None = None,
) -> Replay:
    """Recorded episodes of one alert series replayed under a new `for`/`keep_firing_for`."""
    conditions = conditions_from_episodes(
        episodes, for_=old_for, keep_firing_for=keep_firing_for_old, step=step
    )
    return alert_intervals_from_conditions(
        conditions, for_=new_for, keep_firing_for=keep_firing_for_new, step=step, until=until
    )


def intervals_under_change(
    episodes: Sequence[tuple[datetime, datetime | None]],
    *,
    old_for: timedelta,
    new_for: timedelta,
    keep_firing_for_old: timedelta,
    keep_firing_for_new: timedelta,
    step: timedelta,
    until: datetime | None = None,
) -> list[Interval]:
    """The firing intervals recorded episodes would have had under the new settings."""
    return replay_episodes(
        episodes,
        old_for=old_for,
        new_for=new_for,
        keep_firing_for_old=keep_firing_for_old,
        keep_firing_for_new=keep_firing_for_new,
        step=step,
        until=until,
    ).intervals


# The same replay for many series at once, in integer microseconds (NumPy). Used by the
# fleet-wide screen of alerts/replay/engine.py; property-tested against
# `alert_intervals_from_conditions` in tests/alerts/replay/test_semantics.py.

OPEN = np.iinfo(np.int64).max  # a condition or interval end that never comes (None)


def segment_running_max(
    values: npt.NDArray[np.int64], new_segment: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """Running maximum of `values` restarting at each `new_segment` (`OPEN` stays `OPEN`)."""
    n = len(values)
    if n == 0:
        return values.copy()
    segment = np.cumsum(new_segment) - 1
    finite = values != OPEN
    low = int(values[finite].min()) if finite.any() else 0
    rel = np.where(finite, values - low, 0)
    span = int(rel.max()) + 2
    if (int(segment[-1]) + 1) * span >= 2**62:
        raise OverflowError("values too far apart for a keyed running maximum")
    keyed = segment * span + np.where(finite, rel, span - 1)
    running = np.maximum.accumulate(keyed) - segment * span
    return np.where(running == span - 1, OPEN, running + low).astype(np.int64)


@dataclass(frozen=True)
class ArrayReplay:
    """`alert_intervals_from_conditions` over many series, aligned with its input arrays.

    Per condition: `in_alert` (firing_from is not None), `new_start` (it starts an interval:
    fires at `cs + wait`; otherwise, when in an alert, it was merged and fires at `cs`).
    Per interval, in input order: `first` (index of the condition that starts it) and `end`
    (`OPEN` while still firing at `until`)."""

    in_alert: npt.NDArray[np.bool_]
    new_start: npt.NDArray[np.bool_]
    first: npt.NDArray[np.intp]
    end: npt.NDArray[np.int64]


def replay_arrays(
    cs: npt.NDArray[np.int64],
    ce: npt.NDArray[np.int64],
    new_series: npt.NDArray[np.bool_],
    *,
    wait: npt.NDArray[np.int64] | int,
    keep: npt.NDArray[np.int64] | int,
    keep_raw: npt.NDArray[np.int64] | int,
    step: int,
    until: int,
    running: npt.NDArray[np.int64] | None = None,
) -> ArrayReplay:
    """`alert_intervals_from_conditions` for the conditions `[cs, ce)` (`ce` = `OPEN`: never
    ends) of many series, each contiguous and sorted by `cs`, `new_series[i]` marking the
    first condition of a series; every condition must satisfy `ce > cs`. `wait` and `keep`:
    `steps_ceil` of the new `for` and `keep_firing_for` (per condition or one for all),
    `keep_raw` the `keep_firing_for` itself, all in microseconds like the times. `running`:
    `segment_running_max(ce, new_series)` when the caller has it (it does not depend on the
    candidate).

    Why it is the sequential replay: condition i joins the open alert iff one is open (the
    previous condition is in an alert) and i is close to the latest end M of that alert's
    conditions. M equals the series' running maximum of ends up to i-1: an earlier condition
    ending later would either have kept that alert open (i would be inside it), or be a
    condition dropped as pending-only, which is shorter than `wait` and so cannot contain the
    start of a condition that fires. So "i is in an alert" = some condition since the last one
    that cannot join fires on its own: running maxima of indices instead of a loop."""
    n = len(cs)
    index = np.arange(n)
    low = int(cs.min()) if n else 0
    finite = ce != OPEN
    if running is None:
        running = segment_running_max(ce, new_series)
    before = np.empty(n, dtype=np.int64)
    before[1:] = running[:-1]
    before[:1] = OPEN
    before_open = before == OPEN
    valid = cs <= until
    fires = valid & (cs + wait <= until) & (~finite | (cs + wait < ce))
    before_end = np.where(before_open, low, before)
    near = before_open | (cs <= before_end) | (cs - step - before_end < keep_raw)
    link = valid & ~new_series & near
    last_break = np.maximum.accumulate(np.where(link, -1, index))
    last_fire = np.maximum.accumulate(np.where(fires, index, -1))
    in_alert = (last_fire >= last_break) & valid
    merged = np.zeros(n, dtype=bool)
    merged[1:] = link[1:] & in_alert[:-1]
    new_start = in_alert & ~merged
    last = np.zeros(n, dtype=bool)
    last[:-1] = in_alert[:-1] & ~merged[1:]
    if n:
        last[-1] = in_alert[-1]
    closing = running[last]
    keep_last = np.broadcast_to(np.asarray(keep, dtype=np.int64), (n,))[last]
    ends = np.where(closing == OPEN, OPEN, closing + keep_last)
    ends = np.where(ends > until, OPEN, ends).astype(np.int64)
    return ArrayReplay(in_alert, new_start, np.flatnonzero(new_start), ends)
