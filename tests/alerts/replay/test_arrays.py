"""The array paths (NumPy, integer microseconds) against the reference Python replay.

`replay_arrays`, `notification_count` and `noise_bounds` are checked on random inputs against
`alert_intervals_from_conditions` and `notifications`; `suggest_many` against `suggest` per
rule, on random fleets and through the selectors on the database (PostgreSQL's array query
included when the lane runs on it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.models import AlertRule, Episode, Feedback
from alerts.replay import selectors
from alerts.replay.engine import (
    EpisodeArrays,
    EpisodeRow,
    RuleInfo,
    RuleReplay,
    Settings,
    suggest,
    suggest_many,
    to_us,
)
from alerts.replay.notify import Timing, noise_bounds, notification_count, notifications
from alerts.replay.selectors import suggestions_for_rules, suggestions_for_rules_reference
from alerts.replay.semantics import (
    OPEN,
    Interval,
    alert_intervals_from_conditions,
    replay_arrays,
    steps_ceil,
)
from fleet.models import Team
from tests.support.clock import NOW

T0 = datetime(2026, 11, 2, tzinfo=UTC)
M = timedelta(minutes=1)
US = timedelta(microseconds=1)
UNTIL = T0 + timedelta(hours=6)

Condition = tuple[datetime, datetime | None]


@st.composite
def series_of_conditions(draw: st.DrawFn) -> list[Condition]:
    """Conditions of one series: distinct starts (seconds, off the step grid too), lengths of
    at least a second, overlapping and nested ones, some never ending."""
    starts = draw(st.lists(st.integers(0, 7 * 3600), max_size=10, unique=True))
    out: list[Condition] = []
    for start in sorted(starts):
        length = draw(st.integers(1, 3600))
        open_ended = draw(st.integers(0, 9)) == 0
        out.append(
            (
                T0 + timedelta(seconds=start),
                None if open_ended else T0 + timedelta(seconds=start + length),
            )
        )
    return out


durations = st.sampled_from([0, 1, 30, 60, 90, 120, 300, 600]).map(lambda s: timedelta(seconds=s))


@settings(max_examples=400, deadline=None)
@given(
    fleet=st.lists(series_of_conditions(), min_size=1, max_size=4),
    for_=durations,
    keep=durations,
    step=st.sampled_from([timedelta(seconds=15), M]),
    until=st.sampled_from([UNTIL, T0 + timedelta(hours=8)]),
)
def test_array_replay_equals_the_sequential_replay(
    fleet: list[list[Condition]],
    for_: timedelta,
    keep: timedelta,
    step: timedelta,
    until: datetime,
) -> None:
    cs: list[int] = []
    ce: list[int] = []
    new_series: list[bool] = []
    for conditions in fleet:
        for i, (start, end) in enumerate(conditions):
            cs.append(to_us(start))
            ce.append(OPEN if end is None else to_us(end))
            new_series.append(i == 0)
    wait = steps_ceil(for_, step) // US
    got = replay_arrays(
        np.array(cs, dtype=np.int64),
        np.array(ce, dtype=np.int64),
        np.array(new_series, dtype=bool),
        wait=wait,
        keep=steps_ceil(keep, step) // US,
        keep_raw=keep // US,
        step=step // US,
        until=to_us(until),
    )
    expected: list[tuple[int, int | None]] = []
    firing: list[int | None] = []
    for conditions in fleet:
        replay = alert_intervals_from_conditions(
            conditions, for_=for_, keep_firing_for=keep, step=step, until=until
        )
        expected += [
            (to_us(i.start), None if i.end is None else to_us(i.end)) for i in replay.intervals
        ]
        firing += [None if f is None else to_us(f) for f in replay.firing_from]
    intervals = [
        (cs[first] + wait, None if end == OPEN else int(end))
        for first, end in zip(got.first.tolist(), got.end.tolist(), strict=True)
    ]
    assert intervals == expected
    fired = [
        None if not alert else (c + wait if new else c)
        for c, alert, new in zip(cs, got.in_alert.tolist(), got.new_start.tolist(), strict=True)
    ]
    assert fired == firing


@st.composite
def timings(draw: st.DrawFn) -> Timing:
    return Timing(
        group_wait=timedelta(seconds=draw(st.sampled_from([0, 30, 60, 400]))),
        group_interval=timedelta(seconds=draw(st.sampled_from([60, 300, 301]))),
        repeat_interval=timedelta(seconds=draw(st.sampled_from([0, 200, 600, 3600, 4 * 3600]))),
    )


@st.composite
def intervals(draw: st.DrawFn) -> list[Interval]:
    out = []
    for start in draw(st.lists(st.integers(0, 8 * 3600), max_size=12)):
        length = draw(st.integers(0, 2 * 3600))
        open_ended = draw(st.integers(0, 9)) == 0
        out.append(
            Interval(
                T0 + timedelta(seconds=start),
                None if open_ended else T0 + timedelta(seconds=start + length),
            )
        )
    return sorted(out, key=lambda i: i.start)


@settings(max_examples=400, deadline=None)
@given(groups=st.lists(st.tuples(intervals(), timings()), min_size=1, max_size=4))
def test_notification_count_equals_the_notifications_and_bounds_hold(
    groups: list[tuple[list[Interval], Timing]],
) -> None:
    segment, starts, ends, gw, gi, ri = [], [], [], [], [], []
    exact = []
    for index, (alerts, timing) in enumerate(groups):
        sent = notifications(alerts, timing, until=UNTIL)
        expected = (sum(1 for n in sent if n.new), len(sent))
        got = notification_count(
            [to_us(i.start) for i in alerts],
            [OPEN if i.end is None else to_us(i.end) for i in alerts],
            group_wait=timing.group_wait // US,
            group_interval=timing.group_interval // US,
            repeat_interval=timing.repeat_interval // US,
            until=to_us(UNTIL),
        )
        assert got == expected
        exact.append(expected)
        for alert in alerts:
            segment.append(index)
            starts.append(to_us(alert.start))
            ends.append(OPEN if alert.end is None else to_us(alert.end))
            gw.append(timing.group_wait // US)
            gi.append(timing.group_interval // US)
            ri.append(timing.repeat_interval // US)
    bounds = noise_bounds(
        np.array(segment, dtype=np.intp),
        np.array(starts, dtype=np.int64),
        np.array(ends, dtype=np.int64),
        segments=len(groups),
        group_wait=np.array(gw, dtype=np.int64),
        group_interval=np.array(gi, dtype=np.int64),
        repeat_interval=np.array(ri, dtype=np.int64),
        until=to_us(UNTIL),
    )
    for index, (new, total) in enumerate(exact):
        assert bounds.new_low[index] <= new <= bounds.new_high[index]
        assert bounds.total_low[index] <= total <= bounds.total_high[index]


def test_bounds_are_exact_for_alerts_that_never_share_a_group() -> None:
    timing = Timing(timedelta(seconds=30), timedelta(minutes=5), timedelta(hours=1))
    alerts = [
        Interval(T0, T0 + timedelta(hours=2, minutes=10)),  # 1 new, 2 repeats
        Interval(T0 + timedelta(hours=3), T0 + timedelta(seconds=10 + 3 * 3600)),  # resolved
        Interval(T0 + timedelta(hours=4), None),  # 1 new, a repeat every hour until UNTIL
    ]
    sent = notifications(alerts, timing, until=UNTIL)
    bounds = noise_bounds(
        np.zeros(3, dtype=np.intp),
        np.array([to_us(i.start) for i in alerts], dtype=np.int64),
        np.array([OPEN if i.end is None else to_us(i.end) for i in alerts], dtype=np.int64),
        segments=1,
        group_wait=np.full(3, 30 * 10**6, dtype=np.int64),
        group_interval=np.full(3, 300 * 10**6, dtype=np.int64),
        repeat_interval=np.full(3, 3600 * 10**6, dtype=np.int64),
        until=to_us(UNTIL),
    )
    assert (bounds.new_low[0], bounds.new_high[0]) == (2, 2) == (sum(n.new for n in sent),) * 2
    assert bounds.total_low[0] == bounds.total_high[0] == len(sent) == 5


SETTINGS = Settings(
    step=M,
    regret_delay=timedelta(minutes=10),
    transient=timedelta(minutes=5),
    flap_window=timedelta(minutes=30),
    min_removed=0.5,
)


@st.composite
def rules_with_episodes(draw: st.DrawFn) -> tuple[list[RuleInfo], dict[int, list[EpisodeRow]]]:
    """A few rules: short blips (what a `for` removes), long incidents, overlapping and open
    episodes in up to three series, some engaged or actionable."""
    rules: list[RuleInfo] = []
    episodes: dict[int, list[EpisodeRow]] = {}
    next_id = 1
    for rule_id in range(1, draw(st.integers(1, 4)) + 1):
        rules.append(
            RuleInfo(
                id=rule_id,
                alertname=f"A{rule_id}",
                for_=draw(st.sampled_from([timedelta(0), M, 2 * M, timedelta(seconds=90)])),
                keep_firing_for=draw(st.sampled_from([timedelta(0), M, 5 * M])),
                pages=draw(st.booleans()),
                zone=ZoneInfo("Europe/Berlin"),
                timing=draw(timings()),
            )
        )
        rows = []
        seen: set[tuple[str, int]] = set()
        for _ in range(draw(st.integers(0, 25))):
            series = f"s{draw(st.integers(0, 2))}"
            start = draw(st.integers(0, 6 * 3600 // 60)) * 60
            if (series, start) in seen:
                continue
            seen.add((series, start))
            length = draw(st.sampled_from([60, 120, 180, 600, 3600])) + draw(st.integers(0, 59))
            open_ended = draw(st.integers(0, 19)) == 0
            kind = draw(st.integers(0, 9))
            rows.append(
                EpisodeRow(
                    next_id,
                    series,
                    T0 + timedelta(seconds=start),
                    None if open_ended else T0 + timedelta(seconds=start + length),
                    engaged=kind == 0,
                    actionable=kind == 1,
                )
            )
            next_id += 1
        episodes[rule_id] = rows
    return rules, episodes


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fleet=rules_with_episodes())
def test_suggest_many_equals_suggest_per_rule(
    fleet: tuple[list[RuleInfo], dict[int, list[EpisodeRow]]],
) -> None:
    rules, episodes = fleet
    until = T0 + timedelta(hours=7)
    expected = {}
    for rule in rules:
        found = suggest(RuleReplay(rule, episodes[rule.id], settings=SETTINGS, until=until))
        if found is not None:
            expected[rule.id] = found
    arrays = EpisodeArrays.from_rows(rules, episodes)
    assert suggest_many(rules, arrays, settings=SETTINGS, until=until) == expected


def _episodes(rule: AlertRule, *, blips: int, tag: str, acted_every: int = 0) -> None:
    first = NOW - timedelta(days=20)
    user = User.objects.get_or_create(username="arrays")[0]
    for i in range(blips):
        start = first + i * timedelta(hours=5, minutes=13)
        long = i % 9 == 0
        episode = Episode.objects.create(
            rule=rule,
            fingerprint=f"{tag}{i % 3}",
            starts_at=start,
            ends_at=None if i == blips - 1 else start + (timedelta(hours=1) if long else 2 * M),
            source="prometheus",
        )
        if acted_every and i % acted_every == 0:
            Feedback.objects.create(episode=episode, user=user, actionable=long)


@pytest.mark.django_db
def test_the_array_query_and_search_suggest_what_the_reference_does(
    make_rule: Callable[..., AlertRule], team: Team
) -> None:
    rules = [
        make_rule("ArrBlips", owner_team=team, severity="page"),
        make_rule("ArrWarn", owner_team=team, severity="warning", for_duration=M),
        make_rule("ArrActed", owner_team=team, severity="page"),
        make_rule("ArrQuiet", owner_team=team, severity="page"),
        make_rule("ArrNonAscii", owner_team=team, severity="page"),
    ]
    _episodes(rules[0], blips=60, tag="a")
    _episodes(rules[1], blips=40, tag="b")
    _episodes(rules[2], blips=50, tag="c", acted_every=4)
    _episodes(rules[4], blips=30, tag="ü")  # any text hashes (no ASCII-only path)
    loaded = list(
        AlertRule.objects.filter(pk__in=[r.pk for r in rules]).select_related("owner_team")
    )
    fast = suggestions_for_rules(loaded, now=NOW)
    assert fast == suggestions_for_rules_reference(loaded, now=NOW)
    assert rules[0].pk in fast  # the sample includes suggestions, not only their absence
    assert fast[rules[0].pk].change.regret == []


def test_series_codes_are_per_rule_and_fingerprint_hash() -> None:
    rule = np.array([0, 0, 1, 0, 0, 1], dtype=np.intp)
    hashes = np.array([7, -3, 7, 7, -3, 5], dtype=np.int64)
    codes = selectors.series_codes(rule, hashes)
    assert codes[0] == codes[3] != codes[2]  # same fingerprint, other rule: other series
    assert codes[1] == codes[4] and len({int(c) for c in codes}) == 4
    assert selectors.series_codes(rule[:0], hashes[:0]).size == 0


def test_a_full_replay_reads_the_exact_fingerprints_even_when_hashes_collide() -> None:
    """The screen codes series by hash; the rows of a rule replayed in full carry the real
    fingerprints, so two series that hash alike are still two series there."""
    rule = np.zeros(2, dtype=np.intp)
    arrays = EpisodeArrays(
        np.array([11, 12], dtype=np.int64),
        rule,
        selectors.series_codes(rule, np.array([42, 42], dtype=np.int64)),  # a collision
        np.array([0, 60_000_000], dtype=np.int64),
        np.array([30_000_000, 90_000_000], dtype=np.int64),
        np.zeros(2, dtype=bool),
        np.zeros(2, dtype=bool),
        [],
        lambda rules: {11: "aaaa", 12: "bbbb"},
    )
    assert arrays.series[0] == arrays.series[1]
    assert [row.fingerprint for row in arrays.rows(0)] == ["aaaa", "bbbb"]


def _sorted_arrays(arrays: EpisodeArrays) -> list[list[object]]:
    order = np.argsort(arrays.id)
    return [
        column[order].tolist()
        for column in (arrays.id, arrays.start, arrays.end, arrays.engaged, arrays.actionable)
    ]


@pytest.mark.django_db(transaction=True)  # other connections only see committed rows
def test_the_query_split_over_connections_reads_what_one_connection_reads(
    require_postgres: None,
    make_rule: Callable[..., AlertRule],
    team: Team,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = [
        make_rule("SplitBlips", owner_team=team, severity="page"),
        make_rule("SplitActed", owner_team=team, severity="page"),
    ]
    _episodes(rules[0], blips=60, tag="s")
    _episodes(rules[1], blips=50, tag="t", acted_every=4)
    loaded = list(
        AlertRule.objects.filter(pk__in=[r.pk for r in rules]).select_related("owner_team")
    )
    infos = [selectors.rule_info(rule, selectors.configured_routes()) for rule in loaded]
    start, end = selectors.replay_window(NOW)
    opened: list[object] = []
    connect = selectors.psycopg.connect

    def counted(*args: object, **kwargs: object) -> object:
        opened.append(connect(*args, **kwargs))  # type: ignore[arg-type]
        return opened[-1]

    monkeypatch.setattr(selectors.psycopg, "connect", counted)
    with override_settings(STEWARD_REPLAY_QUERY_CONNECTIONS=1):
        alone = selectors.episode_arrays(infos, start=start, end=end)
        assert opened == []
    with override_settings(STEWARD_REPLAY_QUERY_CONNECTIONS=3):
        split = selectors.episode_arrays(infos, start=start, end=end)
        found = suggestions_for_rules(loaded, now=NOW)
    assert len(opened) == 4 and all(c.closed for c in opened)  # type: ignore[attr-defined]
    assert len(alone.id) == 110 and _sorted_arrays(split) == _sorted_arrays(alone)
    assert found == suggestions_for_rules_reference(loaded, now=NOW)
    assert rules[0].pk in found

    def refused(*args: object, **kwargs: object) -> object:
        raise selectors.psycopg.OperationalError("too many clients already")

    monkeypatch.setattr(selectors.psycopg, "connect", refused)
    with override_settings(STEWARD_REPLAY_QUERY_CONNECTIONS=2):
        assert suggestions_for_rules(loaded, now=NOW) == found  # on Django's connection alone
    assert "replay query on one connection: too many clients already" in caplog.text


def test_rule_ids_map_to_their_index_by_table_or_by_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    known = [40, 7, 1_000_003, 12]
    ids = np.array([12, 40, 1_000_003, 7, 12], dtype=np.int64)
    assert selectors._rule_indexes(ids, known).tolist() == [3, 0, 2, 1, 3]
    monkeypatch.setattr(selectors, "_ID_TABLE_MAX", 100)  # ids too large for a table
    assert selectors._rule_indexes(ids, known).tolist() == [3, 0, 2, 1, 3]
