"""The demo's firing history as a pure function: rules' plain data + now + seed -> firings.

No database here, so tests can plan thousands of `now` values in seconds. Every firing belongs
to one alert *series* (one label set, hence one Alertmanager fingerprint), and each series is a
sorted list of non-overlapping [start, end) intervals: a candidate that overlaps the previous
one is moved after it (or dropped when that runs past `now`). Two episodes of one series can
therefore never share a start, whatever the date, hour or time zone.

Profiles (chosen by the rules' properties, in a fixed order): a noisy rule, a flapping one, a
transient one, a page at night, a stuck one, rules firing right now (one critical), a rule
tuned by a past review (loud before, quiet after), a duplicate pair on one system, unowned
and runbook-less rules that fire, quiet healthy rules and silent ones.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alerts.integrations.alertmanager.fingerprint import fingerprint
from core.weeks import week_bounds, week_of, weeks_back

WEEKS = 8
SEED = 20261116
# A resolved alert that fires again is a new episode; Alertmanager needs a moment between them.
REFIRE_GAP = timedelta(minutes=1)
# The review decision the tuned rule got, and the quiet rule kept: weeks before this one.
TUNED_WEEKS_AGO = 4
KEPT_WEEKS_AGO = 5
# Rules the extra profiles (firing now, tuned) leave over, so that some stay silent.
SILENT_RESERVE = 3
DECISION_NOTES = {
    "tune": "Fired on every deploy: threshold raised and `for: 10m` added.",
    "keep": "Rare and always actionable; keep as it is.",
    "runbook": "Nobody knew what to do when it fired: write the runbook.",
}

# (start, end or None while firing, series index, engaged, feedback: None / True / False)
Candidate = tuple[datetime, datetime | None, int, bool, bool | None]


@dataclass(frozen=True)
class RuleData:
    """What the planner needs to know of one alert rule."""

    id: int
    alertname: str
    severity: str = "warning"
    matchers: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    team: str = ""  # owner team slug; "" when unowned
    team_timezone: str = "UTC"
    has_runbook: bool = False
    system_id: int | None = None
    catalogued: bool = True
    decider_id: int | None = None  # a member of the owner team who can record decisions
    automated: bool = False  # its runbook has an automation action (demo/automation.py)
    for_seconds: int = 0  # the rule's `for:`

    @property
    def owned(self) -> bool:
        return bool(self.team) and self.has_runbook


@dataclass(frozen=True)
class Firing:
    rule_id: int
    labels: dict[str, str]
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    engaged: bool
    feedback: bool | None


@dataclass(frozen=True)
class PlannedDecision:
    rule_id: int
    decider_id: int
    kind: str
    note: str
    week: str
    decided_at: datetime


@dataclass
class HistoryPlan:
    firings: list[Firing]
    decisions: list[PlannedDecision]
    weeks: list[str]


@dataclass(frozen=True)
class _Window:
    """The history's span: `first` is the Monday starting its oldest week."""

    first: datetime
    now: datetime
    weeks: list[str]

    def span(self, week: int) -> tuple[datetime, int]:
        """Start and length in minutes of week `week`, cut an hour before now, so that the
        running week shows its share of every pattern (the pages show this week's flags)."""
        start = self.first + timedelta(weeks=week)
        end = min(start + timedelta(weeks=1), self.now - timedelta(hours=1))
        return start, max(int((end - start).total_seconds() // 60), 0)

    def at(self, rng: random.Random, week: int) -> datetime | None:
        start, minutes = self.span(week)
        return start + timedelta(minutes=rng.randint(0, minutes)) if minutes > 60 else None


Profile = Callable[[RuleData, random.Random, _Window], list[Candidate]]


def _minutes(rng: random.Random, low: int, high: int) -> timedelta:
    return timedelta(minutes=rng.randint(low, high))


def _quiet(rule: RuleData, rng: random.Random, w: _Window) -> list[Candidate]:
    firings: list[Candidate] = []
    for week in range(WEEKS):
        for _ in range(rng.randint(0, 2)):
            start = w.at(rng, week)
            if start is not None:
                firings.append((start, start + _minutes(rng, 10, 90), 0, True, True))
    return firings


def _noisy(rule: RuleData, rng: random.Random, w: _Window) -> list[Candidate]:
    firings: list[Candidate] = []
    for week in range(WEEKS):
        for _ in range(6 if week < WEEKS - 2 else 30):
            start = w.at(rng, week)
            if start is not None:
                engaged = rng.random() < 0.1
                end = start + _minutes(rng, 8, 40)
                firings.append((start, end, rng.randrange(3), engaged, None))
    return firings


def _flapping(rule: RuleData, rng: random.Random, w: _Window) -> list[Candidate]:
    firings: list[Candidate] = []
    for week in range(WEEKS):
        for burst in range(2):
            begin = w.at(rng, week)
            if begin is None:
                continue
            for refire in range(4):
                start = begin + timedelta(minutes=20 * refire)
                firings.append((start, start + _minutes(rng, 6, 12), 0, burst == 0, None))
    return firings


def _transient(rule: RuleData, rng: random.Random, w: _Window) -> list[Candidate]:
    firings: list[Candidate] = []
    for week in range(WEEKS):
        for _ in range(9):
            start = w.at(rng, week)
            if start is not None:
                end = start + timedelta(seconds=rng.randint(40, 240))
                firings.append((start, end, 0, False, None))
    return firings


def _night(rule: RuleData, rng: random.Random, w: _Window) -> list[Candidate]:
    """Pages between 23:00 and 05:00 in the owner team's time zone (DST included)."""
    zone = ZoneInfo(rule.team_timezone or "UTC")
    firings: list[Candidate] = []
    for week in range(WEEKS):
        for day in rng.sample(range(-1, 7), 4):
            local = (w.first + timedelta(weeks=week, days=day)).astimezone(zone)
            local = local.replace(hour=rng.choice([23, 2, 3, 4]), minute=rng.randint(0, 59))
            start = local.astimezone(UTC)
            if w.first <= start < w.now - timedelta(hours=2):
                firings.append((start, start + _minutes(rng, 15, 50), 0, True, False))
    return firings


def _stuck(rule: RuleData, rng: random.Random, w: _Window) -> list[Candidate]:
    return [(w.now - timedelta(days=6, hours=3), None, 0, True, None)]


def _firing_now(rule: RuleData, rng: random.Random, w: _Window) -> list[Candidate]:
    """A quiet past, then an episode that started within the last hours and is still open."""
    calm_until = w.now - timedelta(hours=6)
    past = [c for c in _quiet(rule, rng, w) if c[1] is not None and c[1] < calm_until]
    return [*past, (w.now - _minutes(rng, 12, 200), None, 0, False, None)]


def _decision_time(w: _Window, weeks_ago: int) -> datetime:
    """Tuesday 10:00 UTC of the week `weeks_ago` before the running one (the meeting)."""
    start, _ = week_bounds(w.weeks[-1 - weeks_ago])
    return start + timedelta(days=1, hours=10)


def _tuned(rule: RuleData, rng: random.Random, w: _Window) -> list[Candidate]:
    """About twelve fires a week until a review tuned it, two a week since."""
    decided = _decision_time(w, TUNED_WEEKS_AGO)
    firings: list[Candidate] = []
    for week in range(WEEKS):
        start_of_week, _ = w.span(week)
        loud = start_of_week + timedelta(weeks=1) <= decided
        for _ in range(rng.randint(10, 14) if loud else rng.randint(1, 3)):
            start = w.at(rng, week)
            if start is not None and (loud or start > decided):
                end = start + _minutes(rng, 5, 30)
                firings.append((start, end, rng.randrange(2), rng.random() < 0.3, None))
    return firings


def _duplicate_pair(
    pair: tuple[RuleData, RuleData], rng: random.Random, w: _Window
) -> dict[int, list[Candidate]]:
    leader, follower = pair
    firings: dict[int, list[Candidate]] = {leader.id: [], follower.id: []}
    for week in range(WEEKS):
        for _ in range(7):
            start = w.at(rng, week)
            if start is None:
                continue
            end = start + _minutes(rng, 10, 30)
            echo = start + timedelta(seconds=rng.randint(20, 90))
            firings[leader.id].append((start, end, 0, True, True))
            firings[follower.id].append((echo, end + timedelta(minutes=1), 0, False, None))
    return firings


def _pick(
    rules: list[RuleData],
    test: Callable[[RuleData], bool],
    *,
    fallback: bool,
    prefer: Callable[[RuleData], bool] | None = None,
) -> RuleData | None:
    """The first rule passing `test` (one that also passes `prefer` if any does); with
    `fallback`, else the first rule (small catalogs)."""
    found = None
    if prefer is not None:
        found = next((rule for rule in rules if test(rule) and prefer(rule)), None)
    if found is None:
        found = next((rule for rule in rules if test(rule)), None)
    if found is None and fallback and rules:
        found = rules[0]
    if found is not None:
        rules.remove(found)
    return found


def _duplicates(rules: list[RuleData]) -> tuple[RuleData, RuleData] | None:
    by_system: dict[int, list[RuleData]] = {}
    for rule in rules:
        if rule.system_id is not None:
            by_system.setdefault(rule.system_id, []).append(rule)
    pair = next((group[:2] for group in by_system.values() if len(group) >= 2), rules[:2])
    if len(pair) < 2:
        return None
    for rule in pair:
        rules.remove(rule)
    return pair[0], pair[1]


def _interrupting(rule: RuleData) -> bool:
    return rule.severity in ("page", "critical")


def _automated(rule: RuleData) -> bool:
    return rule.automated


def _decidable(rule: RuleData) -> bool:
    return rule.owned and rule.decider_id is not None


def _assign(rules: list[RuleData], rng: random.Random) -> dict[int, Profile]:
    """Choose a profile per rule; rules left without one stay silent."""
    profiles: dict[int, Profile] = {}
    # (profile, test, fallback): the flag-raising profiles take any rule in a small catalog;
    # the extras only take a rule that fits them.
    wanted: list[tuple[Profile, Callable[[RuleData], bool], bool]] = [
        (_night, lambda rule: _interrupting(rule) and rule.owned, True),
        (_noisy, lambda rule: rule.owned, True),
        # Short `for:` on the flapping and transient rules: the replay can suggest a longer one.
        (_flapping, lambda rule: rule.owned and rule.for_seconds <= 300, True),
        (_transient, lambda rule: rule.owned and rule.for_seconds <= 300, True),
        (_stuck, lambda rule: rule.owned, True),
        (_quiet, lambda rule: not rule.team, True),
        (_quiet, lambda rule: not rule.has_runbook and rule.decider_id is not None, True),
        (_firing_now, lambda rule: rule.severity == "critical" and rule.owned, False),
        (_firing_now, lambda rule: rule.severity == "page" and rule.owned, False),
        (_firing_now, lambda rule: rule.severity == "warning" and rule.owned, False),
        (_tuned, lambda rule: rule.severity == "warning" and _decidable(rule), False),
    ]
    for profile, test, fallback in wanted:
        if not fallback and len(rules) <= SILENT_RESERVE:
            continue  # keep some rules silent: the silent flag needs them
        # The rule firing now with a page is one with an automation action when there is one:
        # its on-call page shows the action's buttons.
        prefer = _automated if profile is _firing_now else None
        rule = _pick(rules, test, fallback=fallback, prefer=prefer)
        if rule is not None:
            profiles[rule.id] = profile
    for index, rule in enumerate(rules):
        # Most of the rest are healthy and quiet; the first and about a third are silent.
        if index > 0 and rng.random() < 0.7:
            profiles[rule.id] = _quiet
    return profiles


def _settle(candidates: list[Candidate], now: datetime) -> list[Candidate]:
    """One series' candidates as sorted, non-overlapping intervals that end by `now`.

    An overlapping candidate keeps its length and starts just after the previous one ends; one
    that would then end after `now` is dropped. An open (still firing) episode ends the series.
    """
    settled: list[Candidate] = []
    free_from: datetime | None = None
    for start, end, series, engaged, feedback in sorted(
        candidates, key=lambda c: (c[0], c[1] is None, c[1] or c[0])
    ):
        if free_from is not None and start < free_from:
            length = None if end is None else end - start
            start = free_from
            end = None if length is None else start + length
        if start >= now or (end is not None and end > now):
            continue
        settled.append((start, end, series, engaged, feedback))
        if end is None:
            break
        free_from = end + REFIRE_GAP
    return settled


def _instance_label(rule: RuleData, series: int) -> dict[str, str]:
    """A pod for a system's rule (its deployment's name), else a node exporter instance."""
    digest = hashlib.sha256(f"{rule.alertname}|{sorted(rule.matchers.items())}".encode())
    token = digest.hexdigest()
    named = rule.matchers.get("model") or rule.matchers.get("system") or rule.labels.get("model")
    if named:
        return {"pod": f"{named}-{token[:6]}-{token[6 + series * 5 : 11 + series * 5]}"}
    return {"instance": f"ml-node-{int(token[:4], 16) % 40 + series:02d}.example.internal:9100"}


def series_labels(rule: RuleData, series: int) -> dict[str, str]:
    """The labels Alertmanager would send: static labels, matchers, alertname, severity, team
    (when owned) and an instance or pod."""
    labels = {**rule.labels, **rule.matchers, "alertname": rule.alertname}
    if rule.severity:
        labels["severity"] = rule.severity
    if rule.team:
        labels["team"] = rule.team
    if "instance" not in labels and "pod" not in labels:
        labels.update(_instance_label(rule, series))
    return labels


def _firings(rule: RuleData, candidates: list[Candidate], now: datetime) -> list[Firing]:
    by_series: dict[int, list[Candidate]] = {}
    for candidate in candidates:
        by_series.setdefault(candidate[2], []).append(candidate)
    firings = []
    for series, rows in sorted(by_series.items()):
        labels = series_labels(rule, series)
        print_ = fingerprint(labels)
        for start, end, _, engaged, feedback in _settle(rows, now):
            firings.append(Firing(rule.id, labels, print_, start, end, engaged, feedback))
    return firings


def _decisions(
    profiles: dict[int, Profile], rules: Sequence[RuleData], w: _Window
) -> list[PlannedDecision]:
    """The past review's decisions: tune the tuned rule, keep a quiet one, ask for a runbook."""
    planned = []
    tuned = next((r for r in rules if profiles.get(r.id) is _tuned), None)
    kept = next((r for r in rules if profiles.get(r.id) is _quiet and _decidable(r)), None)
    bookless = next(
        (
            r
            for r in rules
            if profiles.get(r.id) is _quiet and not r.has_runbook and r.decider_id is not None
        ),
        None,
    )
    for rule, kind, weeks_ago in (
        (tuned, "tune", TUNED_WEEKS_AGO),
        (kept, "keep", KEPT_WEEKS_AGO),
        (bookless, "runbook", KEPT_WEEKS_AGO),
    ):
        if rule is not None and rule.decider_id is not None:
            decided = _decision_time(w, weeks_ago)
            planned.append(
                PlannedDecision(
                    rule.id, rule.decider_id, kind, DECISION_NOTES[kind], week_of(decided), decided
                )
            )
    return planned


def history_plan(rules: Sequence[RuleData], *, now: datetime, seed: int = SEED) -> HistoryPlan:
    """The demo's history for `rules` ending at `now`: the same inputs give the same plan."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    weeks = weeks_back(week_of(now), WEEKS)
    window = _Window(first=week_bounds(weeks[0])[0], now=now, weeks=weeks)
    ordered = sorted(rules, key=lambda r: (r.alertname, sorted(r.matchers.items()), r.id))
    candidates: dict[int, list[Candidate]] = {}
    catalogued = [rule for rule in ordered if rule.catalogued]
    for rule in ordered:
        if not rule.catalogued:
            candidates[rule.id] = _transient(rule, rng, window)[-5:]
    pool = list(catalogued)
    pair = _duplicates(pool)
    if pair is not None:
        candidates.update(_duplicate_pair(pair, rng, window))
    profiles = _assign(pool, rng)
    by_id = {rule.id: rule for rule in ordered}
    for rule_id, profile in profiles.items():
        candidates[rule_id] = profile(by_id[rule_id], rng, window)
    firings = [
        firing
        for rule_id in sorted(candidates)
        for firing in _firings(by_id[rule_id], candidates[rule_id], now)
    ]
    return HistoryPlan(firings, _decisions(profiles, catalogued, window), weeks)
