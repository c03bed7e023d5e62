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
