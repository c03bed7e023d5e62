"""Prometheus alert-state semantics: hand-checked cases and hypothesis invariants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from alerts.replay.notify import Timing, notifications
from alerts.replay.semantics import (
    Interval,
    alert_intervals_from_conditions,
    alert_intervals_from_samples,
    intervals_under_change,
    replay_episodes,
)

T0 = datetime(2026, 11, 2, tzinfo=UTC)
STEP = timedelta(minutes=1)
M = timedelta(minutes=1)


def at(k: int) -> datetime:
    return T0 + k * STEP


def samples(text: str) -> list[bool]:
    return [c == "1" for c in text]


def test_for_zero_fires_at_first_evaluation_and_resolves_at_first_absent() -> None:
    got = alert_intervals_from_samples(
        samples("0110"), start=T0, step=STEP, for_=timedelta(0), keep_firing_for=timedelta(0)
    )
    assert got == [Interval(at(1), at(3))]


def test_for_waits_whole_duration_and_pending_is_dropped() -> None:
    # for 2m: fires at the third consecutive evaluation; a 2-sample blip never fires.
    got = alert_intervals_from_samples(
        samples("0110111100"), start=T0, step=STEP, for_=2 * M, keep_firing_for=timedelta(0)
    )
    assert got == [Interval(at(6), at(8))]


def test_keep_firing_for_bridges_gaps_shorter_than_it_and_extends_the_end() -> None:
    got = alert_intervals_from_samples(
        samples("1100110000000"), start=T0, step=STEP, for_=timedelta(0), keep_firing_for=3 * M
    )
    # Absent at 2, 3 (kept: 0 and 1 minute after 2); back at 4; absent from 6: kept at 6, 7, 8,
    # resolved at 9.
    assert got == [Interval(at(0), at(9))]


def test_keep_firing_for_does_not_keep_pending_alerts() -> None:
    got = alert_intervals_from_samples(
        samples("10111"), start=T0, step=STEP, for_=M, keep_firing_for=10 * M
    )
    assert got == [Interval(at(3), None)]


def test_still_firing_at_the_end_has_no_end() -> None:
    got = alert_intervals_from_samples(
        samples("0111"), start=T0, step=STEP, for_=M, keep_firing_for=timedelta(0)
    )
    assert got == [Interval(at(2), None)]


def test_recorded_episode_replayed_under_longer_for() -> None:
    # Recorded under for 1m: firing 10:05-10:20 means the condition held 10:04..10:20.
    episodes = [(at(5), at(20)), (at(30), at(32))]
    got = intervals_under_change(
        episodes,
        old_for=M,
        new_for=5 * M,
        keep_firing_for_old=timedelta(0),
        keep_firing_for_new=timedelta(0),
        step=STEP,
    )
    assert got == [Interval(at(9), at(20))]  # the 3-minute condition at 29..32 is dropped


def test_recorded_replay_reports_which_episode_fires_when() -> None:
    episodes = [(at(5), at(20)), (at(22), at(40))]
    replay = replay_episodes(
        episodes,
        old_for=timedelta(0),
        new_for=5 * M,
        keep_firing_for_old=timedelta(0),
        keep_firing_for_new=5 * M,
        step=STEP,
    )
    # The second condition starts 2 minutes after the first ends: kept firing, merged.
    assert replay.intervals == [Interval(at(10), at(45))]
    assert replay.firing_from == [at(10), at(22)]
    assert replay.interval_of == [0, 0]


# --- properties ---------------------------------------------------------------------------

presence = st.lists(st.booleans(), min_size=0, max_size=60)
minutes = st.integers(min_value=0, max_value=12).map(lambda n: n * M)
step_sizes = st.sampled_from([timedelta(seconds=30), M, timedelta(seconds=90), 2 * M])


def runs(values: list[bool], step: timedelta) -> list[tuple[datetime, datetime | None]]:
    """Maximal runs of True as condition intervals on the grid."""
    result: list[tuple[datetime, datetime | None]] = []
    begin: int | None = None
    for index, value in enumerate(values):
        if value and begin is None:
            begin = index
        if not value and begin is not None:
            result.append((T0 + begin * step, T0 + index * step))
            begin = None
    if begin is not None:
        result.append((T0 + begin * step, None))
    return result


@given(presence, minutes, minutes, step_sizes)
def test_conditions_replay_equals_sample_replay(
    values: list[bool], for_: timedelta, keep: timedelta, step: timedelta
) -> None:
    expected = alert_intervals_from_samples(
        values, start=T0, step=step, for_=for_, keep_firing_for=keep
    )
    until = T0 + (len(values) - 1) * step if values else T0
    got = alert_intervals_from_conditions(
        runs(values, step), for_=for_, keep_firing_for=keep, step=step, until=until
    )
    assert got.intervals == expected


@given(presence, minutes, minutes, minutes)
def test_longer_for_never_adds_episodes_or_earlier_starts(
    values: list[bool], for_a: timedelta, for_b: timedelta, keep: timedelta
) -> None:
    short, long = sorted([for_a, for_b])
    a = alert_intervals_from_samples(values, start=T0, step=STEP, for_=short, keep_firing_for=keep)
    b = alert_intervals_from_samples(values, start=T0, step=STEP, for_=long, keep_firing_for=keep)
    assert len(b) <= len(a)
    firing_a = firing_set(a, len(values))
    assert firing_set(b, len(values)) <= firing_a


@given(presence, minutes, minutes, minutes)
def test_longer_keep_firing_for_never_adds_starts(
    values: list[bool], for_: timedelta, keep_a: timedelta, keep_b: timedelta
) -> None:
    short, long = sorted([keep_a, keep_b])
    a = alert_intervals_from_samples(values, start=T0, step=STEP, for_=for_, keep_firing_for=short)
    b = alert_intervals_from_samples(values, start=T0, step=STEP, for_=for_, keep_firing_for=long)
    assert {i.start for i in b} <= {i.start for i in a}
    assert firing_set(a, len(values)) <= firing_set(b, len(values))


def firing_set(intervals: list[Interval], count: int) -> set[int]:
    firing: set[int] = set()
    for interval in intervals:
        first = (interval.start - T0) // STEP
        last = count if interval.end is None else (interval.end - T0) // STEP
        firing.update(range(first, last))
    return firing


@given(presence, minutes, minutes, minutes, minutes)
def test_recorded_replay_matches_exact_replay_of_the_same_conditions(
    values: list[bool],
    old_for: timedelta,
    new_for: timedelta,
    old_keep: timedelta,
    new_keep: timedelta,
) -> None:
    """Episodes recorded under (old_for, 0) replayed under (new_for >= old_for, new_keep) equal
    the exact replay of the samples, for every condition that left an episode."""
    new_for = max(old_for, new_for)
    until = T0 + (len(values) - 1) * STEP if values else T0
    recorded = alert_intervals_from_samples(
        values, start=T0, step=STEP, for_=old_for, keep_firing_for=timedelta(0)
    )
    replayed = intervals_under_change(
        [(i.start, i.end) for i in recorded],
        old_for=old_for,
        new_for=new_for,
        keep_firing_for_old=timedelta(0),
        keep_firing_for_new=new_keep,
        step=STEP,
        until=until,
    )
    surviving = [
        c for c in runs(values, STEP) if (until + STEP if c[1] is None else c[1]) - c[0] > old_for
    ]
    exact = alert_intervals_from_conditions(
        surviving, for_=new_for, keep_firing_for=new_keep, step=STEP, until=until
    )
    assert replayed == exact.intervals


@given(presence, minutes, minutes, minutes)
def test_recorded_replay_longer_for_never_adds_episodes(
    values: list[bool], old_for: timedelta, extra: timedelta, keep: timedelta
) -> None:
    recorded = [
        (i.start, i.end)
        for i in alert_intervals_from_samples(
            values, start=T0, step=STEP, for_=old_for, keep_firing_for=timedelta(0)
        )
    ]
    common = {"old_for": old_for, "keep_firing_for_old": timedelta(0), "step": STEP}
    base = intervals_under_change(recorded, new_for=old_for, keep_firing_for_new=keep, **common)  # type: ignore[arg-type]
    longer = intervals_under_change(
        recorded,
        new_for=old_for + extra,
        keep_firing_for_new=keep,
        **common,  # type: ignore[arg-type]
    )
    assert len(longer) <= len(base)


# --- Alertmanager notification timing: the skipping replay equals a flush-by-flush one -------


def _naive_notifications(
    intervals: list[Interval], timing: Timing, until: datetime
) -> list[tuple[datetime, bool]]:
    events = sorted(intervals, key=lambda i: i.start)
    out: list[tuple[datetime, bool]] = []
    index = 0
    while index < len(events) and events[index].start <= until:
        tick = events[index].start + timing.group_wait
        members: list[Interval] = []
        announced: set[int] = set()
        last_sent: datetime | None = None
        while tick <= until:
            while index < len(events) and events[index].start <= tick:
                members.append(events[index])
                index += 1
            firing = [
                n
                for n, i in enumerate(members)
                if i.start <= tick and (i.end is None or i.end > tick)
            ]
            new = [n for n in firing if n not in announced]
            if new:
                out.append((tick, True))
                last_sent = tick
            elif firing and last_sent is not None and tick - last_sent >= timing.repeat_interval:
                out.append((tick, False))
                last_sent = tick
            announced.update(n for n, i in enumerate(members) if i.start <= tick)
            if not firing:
                break
            tick += timing.group_interval
        else:
            while index < len(events) and events[index].start <= until:
                index += 1
    return out


spans = st.lists(
    st.tuples(st.integers(0, 600), st.one_of(st.none(), st.integers(0, 120))), max_size=12
)


@given(
    spans,
    st.integers(0, 3),
    st.integers(1, 10),
    st.integers(1, 60),
)
def test_notifications_equal_a_flush_by_flush_replay(
    raw: list[tuple[int, int | None]], wait: int, interval: int, repeat: int
) -> None:
    intervals = [
        Interval(at(s), None if d is None else at(s + d)) for s, d in raw if d is None or d >= 0
    ]
    timing = Timing(wait * M, interval * M, repeat * M)
    until = at(800)
    got = [(n.at, n.new) for n in notifications(intervals, timing, until=until)]
    assert got == _naive_notifications(intervals, timing, until)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4000), st.integers(1, 40), st.booleans())),
    st.sampled_from([timedelta(0), M, 5 * M]),
    st.sampled_from([timedelta(0), M, 2 * M, 5 * M, 10 * M, 15 * M, 30 * M]),
    st.sampled_from([timedelta(0), M, 5 * M, 10 * M]),
)
def test_definite_regret_screen_never_contradicts_the_replay(
    raw: list[tuple[int, int, int, bool]], old_for: timedelta, for_: timedelta, keep: timedelta
) -> None:
    """When the cheap screen says an acted-on episode is surely lost, the replay agrees."""
    from zoneinfo import ZoneInfo

    from alerts.replay.engine import EpisodeRow, RuleInfo, RuleReplay, Settings

    rows: list[EpisodeRow] = []
    taken: set[tuple[int, int]] = set()
    for n, (series, minute, length, acted) in enumerate(sorted(raw, key=lambda r: r[1])):
        if any(abs(minute - other) <= 45 for s, other in taken if s == series):
            continue  # one series' episodes never overlap
        taken.add((series, minute))
        rows.append(EpisodeRow(n, f"s{series}", at(minute), at(minute + length), acted, False))
    rule = RuleInfo(
        1, "R", old_for, timedelta(0), True, ZoneInfo("UTC"), Timing(M, 5 * M, 4 * 60 * M)
    )
    settings = Settings(STEP, 10 * M, 5 * M, 30 * M, 0.5)
    replay = RuleReplay(rule, rows, settings=settings, until=at(5000))
    if replay.definite_regret(max(for_, old_for), keep):
        assert replay.run(max(for_, old_for), keep).regret
