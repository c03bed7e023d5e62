"""Replay a rule's recorded episodes under candidate (`for`, `keep_firing_for`) pairs.

Pure Python over plain tuples (alerts/replay/selectors.py loads them in one query). For each
candidate: the alert intervals per series (alerts/replay/semantics.py), the notifications of
the rule's Alertmanager group (alerts/replay/notify.py; one group per rule, as with
`group_by: [alertname]`), pages and when they interrupt (alerts/noise/interruptions.py),
transient and flapping episodes removed (the noise evaluation's definitions), the detection
delay added, and the regret: episodes someone engaged with or called actionable that the
change drops or delays past STEWARD_REPLAY_REGRET_DELAY_SECONDS.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.noise.interruptions import SLEEP, interruption_kind
from alerts.replay.notify import Timing, notifications
from alerts.replay.semantics import (
    alert_intervals_from_conditions,
    conditions_from_episodes,
    steps_ceil,
)

ZERO = timedelta(0)
FOR_GRID = (
    timedelta(minutes=1),
    timedelta(minutes=2),
    timedelta(minutes=5),
    timedelta(minutes=10),
    timedelta(minutes=15),
    timedelta(minutes=30),
)
KEEP_GRID = (ZERO, timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=10))


@dataclass(frozen=True)
class EpisodeRow:
    id: int
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    engaged: bool
    actionable: bool


@dataclass(frozen=True)
class RuleInfo:
    id: int
    alertname: str
    for_: timedelta
    keep_firing_for: timedelta
    pages: bool  # a paging severity (core.choices.INTERRUPTING_SEVERITIES)
    zone: ZoneInfo
    timing: Timing


@dataclass(frozen=True)
class Settings:
    step: timedelta
    regret_delay: timedelta
    transient: timedelta
    flap_window: timedelta
    min_removed: float


@dataclass(frozen=True)
class Regret:
    episode_id: int
    fingerprint: str
    starts_at: datetime
    why: str  # "dropped" or "delayed"
    delay: timedelta | None
    engaged: bool
    actionable: bool


@dataclass
class Outcome:
    for_: timedelta
    keep_firing_for: timedelta
    fires: int = 0
    notifications: int = 0
    pages: int = 0
    interruptions: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    transient_removed: int = 0
    flapping_removed: int = 0
    delay_median: timedelta = ZERO
    delay_max: timedelta = ZERO
    acted_delay_max: timedelta = ZERO
    regret: list[Regret] = field(default_factory=list)

    @property
    def sleep(self) -> int:
        return self.interruptions.get(SLEEP, 0)

    @property
    def noise(self) -> int:
        """What the suggestion tries to remove: pages, or notifications for a non-paging rule."""
        return self.pages if self.pages else self.notifications


def candidates(rule: RuleInfo) -> list[tuple[timedelta, timedelta]]:
    """The grid, least added delay first: `for` no shorter than the current one (a shorter one
    cannot be replayed: conditions shorter than it left no episode)."""
    fors = sorted({rule.for_, *(f for f in FOR_GRID if f > rule.for_)})
    return [(f, k) for f in fors for k in KEEP_GRID]


class RuleReplay:
    """One rule's episodes prepared once (conditions per series), replayed per candidate."""

    def __init__(
        self,
        rule: RuleInfo,
        episodes: Iterable[EpisodeRow],
        *,
        settings: Settings,
        until: datetime,
    ) -> None:
        self.rule = rule
        self.settings = settings
        self.until = until
        by_series: dict[str, list[EpisodeRow]] = defaultdict(list)
        for row in episodes:
            by_series[row.fingerprint].append(row)
        self.series: list[tuple[list[EpisodeRow], list[tuple[datetime, datetime | None]]]] = []
        self.flaps: set[int] = set()
        self.transient: set[int] = set()
        # Acted-on episodes as (gap after the previous condition's end minus a step, or None
        # for a series' first; condition length or None while open; condition start).
        self.acted: list[tuple[timedelta | None, timedelta | None, datetime]] = []
        for rows in by_series.values():
            rows.sort(key=lambda r: r.starts_at)
            conditions = conditions_from_episodes(
                [(r.starts_at, r.ends_at) for r in rows],
                for_=rule.for_,
                keep_firing_for=rule.keep_firing_for,
                step=settings.step,
            )
            self.series.append((rows, conditions))
            for i, (row, (cond_start, cond_end)) in enumerate(zip(rows, conditions, strict=True)):
                if not (row.engaged or row.actionable):
                    continue
                before = conditions[i - 1][1] if i else None
                if i and (before is None or cond_start <= before):
                    continue  # always inside the previous alert: never a definite regret
                gap = None if before is None else cond_start - settings.step - before
                length = None if cond_end is None else cond_end - cond_start
                self.acted.append((gap, length, cond_start))
            previous_end: datetime | None = None
            for row in rows:
                if (
                    previous_end is not None
                    and row.starts_at >= previous_end
                    and row.starts_at - previous_end <= settings.flap_window
                ):
                    self.flaps.add(row.id)
                if (
                    row.ends_at is not None
                    and row.ends_at - row.starts_at <= settings.transient
                    and not row.engaged
                ):
                    self.transient.add(row.id)
                previous_end = row.ends_at

    def definite_regret(self, for_: timedelta, keep_firing_for: timedelta) -> bool:
        """True when an acted-on episode is surely dropped or delayed too long: one that no
        earlier alert can keep firing (first of its series, or further than keep_firing_for
        from the previous condition) and whose own condition is too short or starts too late.
        A cheap screen before `run`; False says nothing."""
        step = self.settings.step
        wait = steps_ceil(for_, step)
        delay = wait - steps_ceil(self.rule.for_, step)
        too_late = delay > self.settings.regret_delay
        for gap, length, cond_start in self.acted:
            if gap is not None and gap < keep_firing_for:
                continue
            if (
                too_late
                or (length is not None and length <= wait)
                or cond_start + wait > self.until
            ):
                return True
        return False

    def run(
        self, for_: timedelta, keep_firing_for: timedelta, *, stop_on_regret: bool = False
    ) -> Outcome:
        """The candidate's outcome; with `stop_on_regret`, the first regret ends the replay
        (the outcome then only says that there is regret)."""
        outcome = Outcome(for_=for_, keep_firing_for=keep_firing_for)
        intervals = []
        delays: list[timedelta] = []
        for rows, conditions in self.series:
            replay = alert_intervals_from_conditions(
                conditions,
                for_=for_,
                keep_firing_for=keep_firing_for,
                step=self.settings.step,
                until=self.until,
            )
            intervals.extend(replay.intervals)
            previous: int | None = None
            for row, fired, which in zip(rows, replay.firing_from, replay.interval_of, strict=True):
                if fired is None:
                    outcome.transient_removed += row.id in self.transient
                    outcome.flapping_removed += row.id in self.flaps
                    if row.engaged or row.actionable:
                        outcome.regret.append(self._regret(row, "dropped", None))
                        if stop_on_regret:
                            return outcome
                    continue
                if which == previous:
                    outcome.flapping_removed += row.id in self.flaps  # merged: no new start
                previous = which
                delay = max(ZERO, fired - row.starts_at)
                delays.append(delay)
                if row.engaged or row.actionable:
                    outcome.acted_delay_max = max(outcome.acted_delay_max, delay)
                    if delay > self.settings.regret_delay:
                        outcome.regret.append(self._regret(row, "delayed", delay))
                        if stop_on_regret:
                            return outcome
        outcome.fires = len(intervals)
        if delays:
            outcome.delay_median = statistics.median_low(delays)
            outcome.delay_max = max(delays)
        sent = notifications(intervals, self.rule.timing, until=self.until)
        outcome.notifications = len(sent)
        if self.rule.pages:
            for notification in sent:
                if notification.new:
                    outcome.pages += 1
                    kind = interruption_kind(notification.at, self.rule.zone)
                    outcome.interruptions[kind] += 1
        outcome.regret.sort(key=lambda r: r.starts_at)
        return outcome

    @staticmethod
    def _regret(row: EpisodeRow, why: str, delay: timedelta | None) -> Regret:
        return Regret(
            row.id, row.fingerprint, row.starts_at, why, delay, row.engaged, row.actionable
        )


@dataclass(frozen=True)
class Suggestion:
    rule_id: int
    current: Outcome
    change: Outcome

    @property
    def removed(self) -> int:
        return self.current.noise - self.change.noise

    @property
    def unit(self) -> str:
        return "pages" if self.current.pages else "notifications"

    @property
    def nights_removed(self) -> int:
        return max(0, self.current.sleep - self.change.sleep)

    @property
    def proposed_change(self) -> dict[str, str]:
        from core.durations import duration_format

        return {
            "for": duration_format(self.change.for_),
            "keep_firing_for": duration_format(self.change.keep_firing_for),
        }


def suggest(
    replay: RuleReplay, *, grid: Sequence[tuple[timedelta, timedelta]] | None = None
) -> Suggestion | None:
    """The change with the least added delay that removes at least STEWARD_REPLAY_MIN_PAGES_REMOVED
    of the noise with no regret; None when the rule made no noise or nothing on the grid does."""
    rule = replay.rule
    current: Outcome | None = None
    for for_, keep in grid if grid is not None else candidates(rule):
        if (for_, keep) == (rule.for_, rule.keep_firing_for):
            continue
        # Regret is found before the (costlier) notification replay: most candidates end here.
        if replay.definite_regret(for_, keep):
            continue
        outcome = replay.run(for_, keep, stop_on_regret=True)
        if outcome.regret:
            continue
        if current is None:
            current = replay.run(rule.for_, rule.keep_firing_for)
            if current.noise == 0:
                return None
        removed = current.noise - outcome.noise
        if removed <= 0:
            continue
        if removed >= replay.settings.min_removed * current.noise:
            return Suggestion(rule.id, current, outcome)
    return None
