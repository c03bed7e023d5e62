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
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from alerts.noise.interruptions import SLEEP, interruption_kind
from alerts.replay.notify import Timing, noise_bounds, notification_count, notifications
from alerts.replay.semantics import (
    OPEN,
    alert_intervals_from_conditions,
    conditions_from_episodes,
    replay_arrays,
    segment_running_max,
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
        # Per series, the indices of acted-on episodes (the only ones regret looks at).
        self.acted_indices: list[list[int]] = []
        self.flaps: set[int] = set()
        self.transient: set[int] = set()
        # Acted-on episodes as (gap after the latest end of the series' earlier conditions minus
        # a step, or None for a series' first; condition length or None while open; start).
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
            self.acted_indices.append([i for i, r in enumerate(rows) if r.engaged or r.actionable])
            # The latest end among the series' earlier conditions (None: one never ended):
            # with overlapping episodes it need not be the previous one's.
            latest: datetime | None = None
            for i, (row, (cond_start, cond_end)) in enumerate(zip(rows, conditions, strict=True)):
                before = latest
                if cond_end is None or (i and latest is None):
                    latest = None
                elif not i or (latest is not None and cond_end > latest):
                    latest = cond_end
                if not (row.engaged or row.actionable):
                    continue
                if i and (before is None or cond_start <= before):
                    continue  # always inside an earlier alert: never a definite regret
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

    def screen(self, for_: timedelta, keep_firing_for: timedelta) -> int | None:
        """The candidate's noise (pages, else notifications), or None when it has regret: what
        the suggestion search needs, without the per-episode bookkeeping of `run`."""
        step, limit = self.settings.step, self.settings.regret_delay
        intervals = []
        for (rows, conditions), acted in zip(self.series, self.acted_indices, strict=True):
            replay = alert_intervals_from_conditions(
                conditions, for_=for_, keep_firing_for=keep_firing_for, step=step, until=self.until
            )
            for i in acted:
                fired = replay.firing_from[i]
                if fired is None or fired - rows[i].starts_at > limit:
                    return None
            intervals.extend(replay.intervals)
        sent = notifications(intervals, self.rule.timing, until=self.until)
        if self.rule.pages:
            pages = sum(1 for n in sent if n.new)
            if pages:
                return pages
        return len(sent)

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
        # `notifications` on integer times (the same count; property-tested), as the search.
        spans = sorted((to_us(i.start), OPEN if i.end is None else to_us(i.end)) for i in intervals)
        timing = self.rule.timing
        new_at: list[int] = []
        _, outcome.notifications = notification_count(
            [start for start, _ in spans],
            [end for _, end in spans],
            group_wait=_us(timing.group_wait),
            group_interval=_us(timing.group_interval),
            repeat_interval=_us(timing.repeat_interval),
            until=to_us(self.until),
            new_at=new_at,
        )
        if self.rule.pages:
            for at in new_at:
                outcome.pages += 1
                outcome.interruptions[interruption_kind(from_us(at), self.rule.zone)] += 1
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
    current_noise: int | None = None
    for for_, keep in grid if grid is not None else candidates(rule):
        if (for_, keep) == (rule.for_, rule.keep_firing_for):
            continue
        if replay.definite_regret(for_, keep):
            continue
        noise = replay.screen(for_, keep)
        if noise is None:
            continue  # regret
        if current_noise is None:
            current_noise = replay.screen(rule.for_, rule.keep_firing_for) or 0
            if current_noise == 0:
                return None
        removed = current_noise - noise
        if removed > 0 and removed >= replay.settings.min_removed * current_noise:
            return suggestion_for(replay, for_, keep)
    return None


# ---------------------------------------------------------------------------------------------
# The same search for many rules at once (the review page's agenda, the bench's fleet).
#
# `suggest` per rule replays every candidate in Python. `suggest_many` gets the same answers
# from NumPy arrays: for each distinct candidate of the grid, over all rules that have it, a
# sound screen for regret (acted-on episodes that nothing can keep firing and that the change
# surely drops or delays), then the exact replay (semantics.replay_arrays) for the rest, and
# bounds on the noise (notify.noise_bounds) that reject the candidates which cannot remove
# enough of it. The candidates' passes are independent and run on two threads (NumPy
# releases the GIL in its loops). What the bounds cannot decide is counted exactly
# (notify.notification_count); the suggestion itself is then built by `RuleReplay.run`, as
# `suggest` does.

PASS_THREADS = 2  # candidate passes replayed at once (FleetReplay.choices)
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL's binary timestamps count from it
MICROSECOND = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


@dataclass(frozen=True)
class EpisodeArrays:
    """Episodes of many rules as aligned arrays; times in microseconds since EPOCH, `end` =
    OPEN while the episode is still open. `rule` indexes the rules given alongside, `series`
    indexes `fingerprints` (one per rule and fingerprint)."""

    id: npt.NDArray[np.int64]
    rule: npt.NDArray[np.intp]
    series: npt.NDArray[np.intp]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    engaged: npt.NDArray[np.bool_]
    actionable: npt.NDArray[np.bool_]
    fingerprints: list[str]
    # When `fingerprints` is empty: rule indexes -> {episode id: fingerprint} of their episodes
    # (the array query codes series by a hash; the exact fingerprints are read only for the
    # rules replayed in full).
    fingerprints_of: Callable[[Sequence[int]], Mapping[int, str]] | None = None

    @classmethod
    def from_rows(
        cls, rules: Sequence[RuleInfo], episodes: Mapping[int, Sequence[EpisodeRow]]
    ) -> EpisodeArrays:
        """From EpisodeRows per rule id (tests, and databases without the array query)."""
        codes: dict[tuple[int, str], int] = {}
        columns: list[list[int]] = [[], [], [], [], [], [], []]
        for index, rule in enumerate(rules):
            for row in episodes.get(rule.id, ()):
                code = codes.setdefault((index, row.fingerprint), len(codes))
                for column, value in zip(
                    columns,
                    (
                        row.id,
                        index,
                        code,
                        to_us(row.starts_at),
                        OPEN if row.ends_at is None else to_us(row.ends_at),
                        row.engaged,
                        row.actionable,
                    ),
                    strict=True,
                ):
                    column.append(value)
        names = [name for (_, name) in codes]
        return cls(
            np.array(columns[0], dtype=np.int64),
            np.array(columns[1], dtype=np.intp),
            np.array(columns[2], dtype=np.intp),
            np.array(columns[3], dtype=np.int64),
            np.array(columns[4], dtype=np.int64),
            np.array(columns[5], dtype=bool),
            np.array(columns[6], dtype=bool),
            names,
        )

    def rows(self, rule: int) -> list[EpisodeRow]:
        """The EpisodeRows of one rule (for `RuleReplay`), with their exact fingerprints."""
        return self.rows_many([rule])[rule]

    def rows_many(self, rules: Sequence[int]) -> dict[int, list[EpisodeRow]]:
        """`rows` of several rules, reading their fingerprints at once."""
        # Their episodes in one pass over the arrays (not one per rule), grouped by rule.
        every = np.flatnonzero(np.isin(self.rule, list(rules)))
        ids = self.id[every].tolist()
        if self.fingerprints_of is not None:
            found = self.fingerprints_of(list(rules)) if len(every) else {}
            names = [found[i] for i in ids]
        else:
            names = [self.fingerprints[code] for code in self.series[every].tolist()]
        # Times converted by NumPy (timedelta64 -> timedelta in C), not one call per value.
        still_open = self.end[every] == OPEN
        starts = [EPOCH + d for d in self.start[every].astype("timedelta64[us]").tolist()]
        ends = [
            None if still else EPOCH + d
            for still, d in zip(
                still_open.tolist(),
                np.where(still_open, 0, self.end[every]).astype("timedelta64[us]").tolist(),
                strict=True,
            )
        ]
        grouped: dict[int, list[EpisodeRow]] = {rule: [] for rule in rules}
        for rule, *values in zip(
            self.rule[every].tolist(),
            ids,
            names,
            starts,
            ends,
            self.engaged[every].tolist(),
            self.actionable[every].tolist(),
            strict=True,
        ):
            grouped[rule].append(EpisodeRow(*values))
        return grouped


def _order(
    rule: npt.NDArray[np.intp],
    series: npt.NDArray[np.intp],
    time: npt.NDArray[np.int64],
    *,
    runs: bool = False,
) -> npt.NDArray[np.intp]:
    """The order by (rule, series, time), ties in input order: one sort of a combined key when
    the series codes grow with the rule (as `EpisodeArrays` makes them) and the values fit,
    else lexsort. The combined key is sorted by the unstable sort (3x faster on unordered
    input), and again stably only when it has ties (an episode is unique per fingerprint and
    start, so the series order has none). `runs`: the input is made of long sorted runs,
    where the stable sort (a merge of the runs) is as fast: it goes first."""
    if len(time):
        relative = time - time.min()
        if int(relative.max()) < 2**42 and int(series.max()) < 2**21:
            key = series.astype(np.int64) * 2**42 + relative
            order = np.argsort(key, kind="stable" if runs else None)
            if not runs and not (np.diff(key[order]) != 0).all():
                order = np.argsort(key, kind="stable")
            if (np.diff(rule[order]) >= 0).all():
                return order
    return np.lexsort((time, series, rule))


def _us(duration: timedelta) -> int:
    return duration // MICROSECOND


@dataclass
class _Pass:
    """One candidate replayed for the rules that survived the regret screen: their intervals
    sorted by (rule, start), and per rule its slice and noise bounds."""

    rules: npt.NDArray[np.intp]
    regret: npt.NDArray[np.bool_]
    low: npt.NDArray[np.int64]
    high: npt.NDArray[np.int64]
    starts: npt.NDArray[np.int64]
    ends: npt.NDArray[np.int64]
    bounds: npt.NDArray[np.intp]  # rule k's intervals: [bounds[k], bounds[k + 1])


class FleetReplay:
    """Many rules' episodes prepared once as conditions (sorted by rule, series, start)."""

    def __init__(
        self,
        rules: Sequence[RuleInfo],
        episodes: EpisodeArrays,
        *,
        settings: Settings,
        until: datetime,
    ) -> None:
        self.rules = list(rules)
        self.settings = settings
        self.until = to_us(until)
        self.step = _us(settings.step)
        step = settings.step
        count = len(self.rules)
        self.wait0 = np.array([_us(steps_ceil(r.for_, step)) for r in self.rules], dtype=np.int64)
        self.keep0 = np.array(
            [_us(steps_ceil(r.keep_firing_for, step)) for r in self.rules], dtype=np.int64
        )
        self.keep0_raw = np.array([_us(r.keep_firing_for) for r in self.rules], dtype=np.int64)
        self.group_wait = np.array([_us(r.timing.group_wait) for r in self.rules], dtype=np.int64)
        self.group_interval = np.array(
            [_us(r.timing.group_interval) for r in self.rules], dtype=np.int64
        )
        self.repeat_interval = np.array(
            [_us(r.timing.repeat_interval) for r in self.rules], dtype=np.int64
        )
        self.pages = np.array([r.pages for r in self.rules], dtype=bool)
        self.episodes = episodes
        order = _order(episodes.rule, episodes.series, episodes.start)
        self.rule_of = episodes.rule[order]
        series = episodes.series[order]
        self.start = episodes.start[order]
        end = episodes.end[order]
        self.acted = (episodes.engaged | episodes.actionable)[order]
        self.new_series = np.ones(len(order), dtype=bool)
        self.new_series[1:] = series[1:] != series[:-1]
        wait0 = self.wait0[self.rule_of]
        self.cs = self.start - wait0
        self.ce = np.where(
            end == OPEN,
            OPEN,
            np.maximum(end - self.keep0[self.rule_of], self.start + self.step),
        ).astype(np.int64)
        self.lo = np.searchsorted(self.rule_of, np.arange(count), side="left")
        self.hi = np.searchsorted(self.rule_of, np.arange(count), side="right")
        # Rank of each condition in (rule, start) order: intervals come out in it.
        by_rule_start = _order(self.rule_of, self.rule_of, self.cs, runs=True)
        self.rank = np.empty(len(order), dtype=np.intp)
        self.rank[by_rule_start] = np.arange(len(order))
        # The acted-on conditions for the regret screen: the latest end before them in their
        # series (OPEN: one never ended), and whether they are the first of their series.
        before = np.zeros(len(order), dtype=np.int64)
        # The latest condition end so far in each series: every candidate's replay uses it.
        self.running = segment_running_max(self.ce, self.new_series)
        before[1:] = self.running[:-1]
        acted = np.flatnonzero(self.acted)
        self.acted_rule = self.rule_of[acted]
        self.acted_cs = self.cs[acted]
        self.acted_length = np.where(
            self.ce[acted] == OPEN, OPEN, self.ce[acted] - self.cs[acted]
        ).astype(np.int64)
        self.acted_before = before[acted]
        self.acted_first = self.new_series[acted]

    def _conditions(self, rules: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        """Indices of the conditions of `rules` (sorted), in order."""
        wanted = np.zeros(len(self.rules), dtype=bool)
        wanted[rules] = True
        return np.flatnonzero(wanted[self.rule_of])

    def surely_regret(self, rules: npt.NDArray[np.intp], for_: timedelta, keep: timedelta) -> Any:
        """Per rule of `rules`: True when an acted-on episode surely has regret (as
        `RuleReplay.definite_regret`, with the latest earlier end of its series)."""
        wait = _us(steps_ceil(for_, self.settings.step))
        keep_raw = _us(keep)
        in_rules = np.zeros(len(self.rules), dtype=bool)
        in_rules[rules] = True
        pick = np.flatnonzero(in_rules[self.acted_rule])
        rule = self.acted_rule[pick]
        cs, length, before = self.acted_cs[pick], self.acted_length[pick], self.acted_before[pick]
        first = self.acted_first[pick]
        inside = ~first & ((before == OPEN) | (cs <= before))
        kept = ~first & ~inside & (cs - self.step - before < keep_raw)
        too_late = (wait - self.wait0[rule]) > _us(self.settings.regret_delay)
        dropped = ((length != OPEN) & (length <= wait)) | (cs + wait > self.until)
        sure = ~inside & ~kept & (too_late | dropped)
        hit = np.zeros(len(self.rules), dtype=bool)
        hit[rule[sure]] = True
        return hit[rules]

    def replay(
        self,
        rules: npt.NDArray[np.intp],
        wait: npt.NDArray[np.int64] | int,
        keep: npt.NDArray[np.int64] | int,
        keep_raw: npt.NDArray[np.int64] | int,
    ) -> _Pass:
        """Exact replay of `rules` (sorted) with `wait`, `keep` (whole steps) and `keep_raw`,
        each one for all or per rule: regret per rule, intervals, and noise bounds."""
        local = np.full(len(self.rules), -1, dtype=np.intp)
        local[rules] = np.arange(len(rules))
        index = self._conditions(rules)
        owner = local[self.rule_of[index]]
        cs, ce = self.cs[index], self.ce[index]

        def per_condition(value: npt.NDArray[np.int64] | int) -> npt.NDArray[np.int64] | int:
            return value if isinstance(value, int) else value[owner]

        wait_c = per_condition(wait)
        result = replay_arrays(
            cs,
            ce,
            self.new_series[index],
            wait=wait_c,
            keep=per_condition(keep),
            keep_raw=per_condition(keep_raw),
            step=self.step,
            until=self.until,
            running=self.running[index],
        )
        fired = np.where(result.new_start, cs + wait_c, cs)
        late = fired - self.start[index] > _us(self.settings.regret_delay)
        bad = self.acted[index] & (~result.in_alert | late)
        regret = np.zeros(len(rules), dtype=bool)
        regret[owner[bad]] = True
        order = np.argsort(self.rank[index[result.first]])  # ranks are distinct
        first = result.first[order]
        starts = (cs + wait_c)[first]
        ends = result.end[order]
        segment = owner[first]
        rule_ids = rules[segment]
        bounds = noise_bounds(
            segment,
            starts,
            ends,
            segments=len(rules),
            group_wait=self.group_wait[rule_ids],
            group_interval=self.group_interval[rule_ids],
            repeat_interval=self.repeat_interval[rule_ids],
            until=self.until,
        )
        paging = self.pages[rules]
        low = np.where(paging, bounds.new_low, bounds.total_low)
        high = np.where(paging, bounds.new_high, bounds.total_high)
        slices = np.searchsorted(segment, np.arange(len(rules) + 1))
        return _Pass(rules, regret, low, high, starts, ends, slices)

    def exact_noise(self, done: _Pass, k: int) -> int:
        """The noise of rule `done.rules[k]` in a pass, as `RuleReplay.screen` counts it."""
        rule = int(done.rules[k])
        lo, hi = done.bounds[k], done.bounds[k + 1]
        new, total = notification_count(
            done.starts[lo:hi].tolist(),
            done.ends[lo:hi].tolist(),
            group_wait=int(self.group_wait[rule]),
            group_interval=int(self.group_interval[rule]),
            repeat_interval=int(self.repeat_interval[rule]),
            until=self.until,
        )
        return new if self.rules[rule].pages and new else total

    def choices(self) -> dict[int, tuple[timedelta, timedelta]]:
        """Per rule index, the candidate `suggest` would choose (rules without one left out).

        Each candidate of the grid is replayed for the rules that have it (rules without
        episodes make no noise and get none), as are the current settings. A candidate's noise
        bounds against the current noise's upper bound keep only the candidates that might
        remove enough (one they reject is rejected by the exact figures too). Only those are
        then walked in each rule's grid order, with exact counts, as `suggest` walks them."""
        share = self.settings.min_removed
        with_episodes = self.hi > self.lo
        if share > 1 or not with_episodes.any():
            return {}  # nothing can remove more than all of the noise
        having = np.flatnonzero(with_episodes)
        grid = self._candidates(members_of=with_episodes)
        step = self.settings.step

        def candidate_pass(
            candidate: tuple[timedelta, timedelta], members: npt.NDArray[np.intp]
        ) -> _Pass | None:
            """The candidate's pass over the members that might not have regret."""
            for_, keep = candidate
            rules = members[~self.surely_regret(members, for_, keep)]
            if not len(rules):
                return None
            return self.replay(
                rules, _us(steps_ceil(for_, step)), _us(steps_ceil(keep, step)), _us(keep)
            )

        # The passes are independent and NumPy releases the GIL in its loops: two threads
        # keep both cores busy (the results are read back in grid order).
        with ThreadPoolExecutor(max_workers=PASS_THREADS) as pool:
            current_pass = pool.submit(
                self.replay, having, self.wait0[having], self.keep0[having], self.keep0_raw[having]
            )
            passes = list(pool.map(lambda item: candidate_pass(*item), grid))
            current = current_pass.result()
        current_at = np.full(len(self.rules), -1, dtype=np.intp)
        current_at[having] = np.arange(len(having))
        high = np.zeros(len(self.rules), dtype=np.int64)
        high[having] = current.high
        open_: dict[int, list[tuple[tuple[timedelta, timedelta], _Pass, int]]] = defaultdict(list)
        for (candidate, _), done in zip(grid, passes, strict=True):
            if done is None:
                continue
            ceilings = high[done.rules]
            hopeful = (
                ~done.regret
                & (done.low < ceilings)
                & (done.low <= (1 - share) * ceilings + 1e-9 * (ceilings + 1))
            )
            for at in np.flatnonzero(hopeful).tolist():
                open_[int(done.rules[at])].append((candidate, done, at))
        chosen: dict[int, tuple[timedelta, timedelta]] = {}
        for rule in sorted(open_):
            k_current = int(current_at[rule])
            current_noise: int | None = None
            for candidate, done, at in open_[rule]:  # the passes ran in grid order
                # The current noise: exact once counted, else between its bounds.
                ceiling = int(high[rule]) if current_noise is None else current_noise
                floor = int(current.low[k_current]) if current_noise is None else current_noise
                low = int(done.low[at])
                if low >= ceiling:
                    continue  # removes nothing
                if low > (1 - share) * ceiling + 1e-9 * (ceiling + 1):
                    continue  # cannot remove enough
                least_removed = floor - int(done.high[at])
                if least_removed > 0 and least_removed >= share * ceiling:
                    chosen[rule] = candidate  # surely removes enough: no need to count
                    break
                if current_noise is None:
                    current_noise = self.exact_noise(current, k_current)
                    if current_noise == 0:
                        break  # the rule made no noise
                removed = current_noise - self.exact_noise(done, at)
                if removed > 0 and removed >= share * current_noise:
                    chosen[rule] = candidate
                    break
        return chosen

    def _candidates(
        self, *, members_of: npt.NDArray[np.bool_]
    ) -> list[tuple[tuple[timedelta, timedelta], npt.NDArray[np.intp]]]:
        """Every (`for`, `keep_firing_for`) on the grid (`candidates`, minus the current
        settings) of a rule of `members_of` (a mask), in grid order, with the rules (indices,
        sorted) that have it."""
        for_now = np.array([_us(r.for_) for r in self.rules], dtype=np.int64)
        keep_now = np.array([_us(r.keep_firing_for) for r in self.rules], dtype=np.int64)
        found = []
        for for_ in sorted({r.for_ for r in self.rules} | set(FOR_GRID)):
            # `for_` is on a rule's grid when it is the rule's own or a longer one of FOR_GRID.
            on_grid = (for_now == _us(for_)) | ((for_now < _us(for_)) & (for_ in FOR_GRID))
            for keep in KEEP_GRID:
                current = (for_now == _us(for_)) & (keep_now == _us(keep))
                members = np.flatnonzero(on_grid & ~current & members_of)
                if len(members):
                    found.append(((for_, keep), members))
        return found


def suggestion_for(replay: RuleReplay, for_: timedelta, keep: timedelta) -> Suggestion:
    """The suggestion of a chosen candidate: the current and the changed outcome in full."""
    rule = replay.rule
    current = replay.run(rule.for_, rule.keep_firing_for)
    return Suggestion(rule.id, current, replay.run(for_, keep))


def suggest_many(
    rules: Sequence[RuleInfo], episodes: EpisodeArrays, *, settings: Settings, until: datetime
) -> dict[int, Suggestion]:
    """`suggest` for every rule (by rule id; rules without a suggestion left out)."""
    fleet = FleetReplay(rules, episodes, settings=settings, until=until)
    found: dict[int, Suggestion] = {}
    choices = fleet.choices()
    rows = episodes.rows_many(list(choices))
    for index, (for_, keep) in choices.items():
        rule = rules[index]
        replay = RuleReplay(rule, rows[index], settings=settings, until=until)
        found[rule.id] = suggestion_for(replay, for_, keep)
    return found
