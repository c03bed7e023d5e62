"""Expression backtest: what an alert rule would have fired over the last days, evaluated by
Prometheus, and what a change to it (expression, threshold, `for`, `keep_firing_for`,
labels) would have changed, joined with the recorded episodes and what people did with them.

1. `SeriesFetcher.present(expr)`: the expression as range queries over the window, split into
   chunks of at most MAX_POINTS evaluations each (Prometheus refuses more than 11,000 points
   per series), merged per series: for every series, whether the expression returned it at
   each evaluation `start + k*step`. One fetch per distinct expression.
2. `predict(rule, present)`: per series, `alerts.replay.semantics.alert_intervals_from_samples`
   (the one home of Prometheus's `for`/`keep_firing_for` semantics) gives the alert's firing
   intervals; the alert's labels are Prometheus's (series labels without `__name__`, then the
   rule's labels, then `alertname`), and their fingerprint is Alertmanager's
   (`alerts.integrations.alertmanager.fingerprint`), the key of recorded episodes.
3. `compare(old, new, recorded)`: episodes only the old rule had (removed), only the new
   (added), and the recorded episodes someone engaged with or called actionable that the new
   rule would not have fired for (missed). Old and new are matched per *series* (labels from
   the expression), so a change of the rule's own labels (severity) still compares.

Pure functions (2, 3) take plain data; `recorded_episodes` is the one query on the database.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.lint.types import AlertEntry
from alerts.models import Engagement, Episode, Feedback
from alerts.replay.semantics import alert_intervals_from_samples

# Prometheus refuses more than 11,000 points per series in one range query; stay under it.
MAX_POINTS = 10_000

SeriesKey = tuple[tuple[str, str], ...]


class BacktestError(Exception):
    """Prometheus refused or failed a query of the backtest (the message says which)."""


@dataclass(frozen=True)
class Window:
    """Evaluations at start, start + step, ... up to end (inclusive), step in whole seconds."""

    start: datetime
    end: datetime
    step: timedelta

    @classmethod
    def ending(cls, end: datetime, *, days: float, step_seconds: int) -> Window:
        """The last `days` before `end`, aligned to the step (Prometheus takes whole seconds)."""
        if step_seconds < 1:
            raise ValueError("The step is at least one second.")
        end_s = math.floor(end.timestamp() / step_seconds) * step_seconds
        points = math.floor(days * 86400 / step_seconds)
        start_s = end_s - points * step_seconds
        return cls(
            datetime.fromtimestamp(start_s, UTC),
            datetime.fromtimestamp(end_s, UTC),
            timedelta(seconds=step_seconds),
        )

    @property
    def points(self) -> int:
        return int((self.end - self.start) / self.step) + 1

    @property
    def weeks(self) -> float:
        return max((self.end - self.start).total_seconds(), 1.0) / (7 * 86400)

    def chunks(self, max_points: int = MAX_POINTS) -> list[tuple[datetime, datetime]]:
        """(start, end) of each range query: consecutive, not overlapping, each at most
        `max_points` evaluations, together exactly the window's evaluations."""
        out = []
        first = 0
        while first < self.points:
            last = min(first + max_points, self.points) - 1
            out.append((self.start + first * self.step, self.start + last * self.step))
            first = last + 1
        return out


def series_key(metric: Mapping[str, str]) -> SeriesKey:
    """A series as an alert rule sees it: its labels without the metric name."""
    return tuple(sorted((k, str(v)) for k, v in metric.items() if k != "__name__"))


class SeriesFetcher:
    """Range queries against one Prometheus client, chunked and cached per expression."""

    def __init__(self, prometheus: Any, window: Window, *, max_points: int = MAX_POINTS) -> None:
        self.prometheus = prometheus
        self.window = window
        self.max_points = max_points
        self.queries = 0
        self._cache: dict[str, dict[SeriesKey, list[bool]]] = {}

    def present(self, expr: str) -> dict[SeriesKey, list[bool]]:
        """For each series the expression returned: returned or not at each evaluation."""
        if expr not in self._cache:
            self._cache[expr] = self._fetch(expr)
        return self._cache[expr]

    def _fetch(self, expr: str) -> dict[SeriesKey, list[bool]]:
        window = self.window
        step_s = int(window.step.total_seconds())
        start_s = window.start.timestamp()
        out: dict[SeriesKey, list[bool]] = {}
        for chunk_start, chunk_end in window.chunks(self.max_points):
            self.queries += 1
            try:
                result = self.prometheus.custom_query_range(
                    query=expr, start_time=chunk_start, end_time=chunk_end, step=str(step_s)
                )
            except Exception as error:  # noqa: BLE001 (any client/HTTP failure is reported)
                raise BacktestError(str(error)[:300]) from error
            for series in result or ():
                present = out.setdefault(
                    series_key(series.get("metric", {})), [False] * window.points
                )
                for raw_ts, _value in series.get("values", ()):
                    index = round((float(raw_ts) - start_s) / step_s)
                    if 0 <= index < window.points:
                        present[index] = True
        return out


@dataclass(frozen=True)
class RuleSpec:
    """What of an alert rule decides when and as what it fires."""

    alert: str
    expr: str
    for_: timedelta = timedelta(0)
    keep_firing_for: timedelta = timedelta(0)
    labels: Mapping[str, str] = field(default_factory=dict)
    file: str = ""
    line: int = 0
    group: str = ""
    interval: timedelta | None = None  # the group's `interval:` (None: the global one)

    @classmethod
    def from_entry(cls, entry: AlertEntry) -> RuleSpec:
        return cls(
            alert=entry.alert,
            expr=entry.expr,
            for_=entry.for_duration or timedelta(0),
            keep_firing_for=entry.keep_firing_for or timedelta(0),
            labels=dict(entry.labels),
            file=entry.file,
            line=entry.rule.line,
            group=entry.group,
            interval=entry.group_interval,
        )

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    def behaviour(self) -> tuple[Any, ...]:
        """What a change must touch to change what the rule fires."""
        return (
            " ".join(self.expr.split()),
            self.for_,
            self.keep_firing_for,
            tuple(sorted(self.labels.items())),
            self.interval,
        )

    def alert_labels(self, key: SeriesKey) -> dict[str, str]:
        """Prometheus's label set of the alert for one series (rules/alerting.go: series
        labels without `__name__`, the rule's labels over them, then `alertname`). Templated
        rule label values (`{{ ... }}`) are kept as written."""
        labels = dict(key)
        labels.update(self.labels)
        labels["alertname"] = self.alert
        return labels


@dataclass(frozen=True)
class PredictedEpisode:
    key: SeriesKey
    fingerprint: str
    labels: Mapping[str, str]
    start: datetime
    end: datetime | None  # None: still firing at the end of the window

    def overlaps(self, start: datetime, end: datetime | None, *, slack: timedelta) -> bool:
        mine_end = self.end or datetime.max.replace(tzinfo=UTC)
        theirs_end = end or datetime.max.replace(tzinfo=UTC)
        return self.start <= theirs_end + slack and start <= mine_end + slack


def predict(
    rule: RuleSpec, present: Mapping[SeriesKey, Sequence[bool]], window: Window
) -> list[PredictedEpisode]:
    """The episodes the rule would have produced, per series, in start order."""
    episodes = []
    for key, samples in present.items():
        labels = rule.alert_labels(key)
        fp = fingerprint(labels)
        for interval in alert_intervals_from_samples(
            samples,
            start=window.start,
            step=window.step,
            for_=rule.for_,
            keep_firing_for=rule.keep_firing_for,
        ):
            episodes.append(PredictedEpisode(key, fp, labels, interval.start, interval.end))
    episodes.sort(key=lambda e: (e.start, e.fingerprint))
    return episodes


@dataclass(frozen=True)
class RecordedEpisode:
    id: int
    rule_id: int
    fingerprint: str
    labels: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    actionable: bool
    engaged: bool

    @property
    def important(self) -> bool:
        """Someone acted on it: engaged with it or called it actionable."""
        return self.actionable or self.engaged

    @property
    def url(self) -> str:
        return f"{settings.STEWARD_BASE_URL}/alerts/{self.rule_id}/"

    def as_dict(self) -> dict[str, Any]:
        return {
            "episode": self.id,
            "fingerprint": self.fingerprint,
            "labels": dict(self.labels),
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
            "actionable": self.actionable,
            "engaged": self.engaged,
            "url": self.url,
        }


def recorded_episodes(alertnames: Iterable[str], window: Window) -> list[RecordedEpisode]:
    """Recorded episodes of these alerts overlapping the window, with whether anyone engaged
    with each or called it actionable: one query."""
    names = {name for name in alertnames if "\x00" not in name}
    if not names:
        return []
    rows = (
        Episode.objects.filter(rule__alertname__in=names)
        .filter(starts_at__lte=window.end)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gte=window.start))
        .annotate(
            is_actionable=Exists(Feedback.objects.filter(episode=OuterRef("pk"), actionable=True)),
            is_engaged=Exists(Engagement.objects.filter(episode=OuterRef("pk"))),
        )
        .order_by("starts_at", "id")
        .values_list(
            "id",
            "rule_id",
            "fingerprint",
            "labels",
            "starts_at",
            "ends_at",
            "is_actionable",
            "is_engaged",
        )
    )
    return [
        RecordedEpisode(pk, rule_id, fp, labels or {}, start, end, bool(act), bool(eng))
        for pk, rule_id, fp, labels, start, end, act, eng in rows
    ]


@dataclass
class Comparison:
    """Old rule against new rule over one window (either may be None: added or removed)."""

    old: RuleSpec | None
    new: RuleSpec | None
    old_episodes: list[PredictedEpisode]
    new_episodes: list[PredictedEpisode]
    removed: list[PredictedEpisode]  # the old rule's episodes the new one does not overlap
    added: list[PredictedEpisode]  # the new rule's episodes the old one does not overlap
    missed: list[RecordedEpisode]  # recorded, acted on, and the new rule would not fire
    recorded: int  # recorded episodes of the rule in the window
    # Recorded, acted on, and the new rule would fire more than `regret_delay` later.
    delayed: list[tuple[RecordedEpisode, timedelta]] = field(default_factory=list)

    @property
    def alert(self) -> str:
        return (self.new or self.old or RuleSpec("", "")).alert


def _recorded_key(
    episode: RecordedEpisode, by_fingerprint: Mapping[str, SeriesKey], rules: Sequence[RuleSpec]
) -> SeriesKey:
    """The series a recorded episode belongs to: by its fingerprint when a rule predicted it,
    else its labels without `alertname` and without the rule's own labels."""
    if episode.fingerprint in by_fingerprint:
        return by_fingerprint[episode.fingerprint]
    labels = {k: str(v) for k, v in episode.labels.items() if k != "alertname"}
    for rule in rules:
        for name, value in rule.labels.items():
            if labels.get(name) == value:
                labels.pop(name)
    return tuple(sorted(labels.items()))


def compare(
    old: RuleSpec | None,
    old_episodes: Sequence[PredictedEpisode],
    new: RuleSpec | None,
    new_episodes: Sequence[PredictedEpisode],
    recorded: Sequence[RecordedEpisode],
    *,
    slack: timedelta = timedelta(0),
    regret_delay: timedelta | None = None,
) -> Comparison:
    """Match old and new episodes per series (overlap in time, give or take `slack`, one
    evaluation step), and recorded episodes to the new rule's: an acted-on episode no new
    episode overlaps is missed; one whose first overlapping new episode starts more than
    `regret_delay` after it is delayed."""
    rule = new or old
    if rule is None:
        raise ValueError("compare needs an old or a new rule")
    old_by: dict[SeriesKey, list[PredictedEpisode]] = {}
    new_by: dict[SeriesKey, list[PredictedEpisode]] = {}
    for episode in old_episodes:
        old_by.setdefault(episode.key, []).append(episode)
    for episode in new_episodes:
        new_by.setdefault(episode.key, []).append(episode)

    def overlapped(
        by: Mapping[SeriesKey, list[PredictedEpisode]],
        key: SeriesKey,
        start: datetime,
        end: datetime | None,
    ) -> bool:
        return any(e.overlaps(start, end, slack=slack) for e in by.get(key, ()))

    removed = [e for e in old_episodes if not overlapped(new_by, e.key, e.start, e.end)]
    added = [e for e in new_episodes if not overlapped(old_by, e.key, e.start, e.end)]
    by_fingerprint = {e.fingerprint: e.key for e in (*old_episodes, *new_episodes)}
    rules = [r for r in (old, new) if r is not None]
    missed: list[RecordedEpisode] = []
    delayed: list[tuple[RecordedEpisode, timedelta]] = []
    for e in recorded:
        if not e.important:
            continue
        key = _recorded_key(e, by_fingerprint, rules)
        hits = [n for n in new_by.get(key, ()) if n.overlaps(e.starts_at, e.ends_at, slack=slack)]
        if not hits:
            missed.append(e)
            continue
        delay = min(n.start for n in hits) - e.starts_at
        if regret_delay is not None and delay > regret_delay:
            delayed.append((e, delay))
    return Comparison(
        old,
        new,
        list(old_episodes),
        list(new_episodes),
        removed,
        added,
        missed,
        len(recorded),
        delayed,
    )


def assign_recorded(
    pairs: Sequence[tuple[RuleSpec | None, RuleSpec | None, set[str]]],
    recorded: Sequence[RecordedEpisode],
) -> list[list[RecordedEpisode]]:
    """Each recorded episode to at most one (old, new, predicted fingerprints) pair: the pair
    that predicted its fingerprint, else the first of its alertname whose static labels it
    carries, else the first of its alertname. Several rules may share an alertname (one per
    severity, say); an episode is counted once."""
    out: list[list[RecordedEpisode]] = [[] for _ in pairs]
    by_fp = {fp: i for i, (_, _, fps) in enumerate(pairs) for fp in fps}
    for episode in recorded:
        index = by_fp.get(episode.fingerprint)
        if index is None:
            name = episode.labels.get("alertname")
            candidates = [
                i
                for i, (old, new, _) in enumerate(pairs)
                if any(r is not None and r.alert == name for r in (old, new))
            ]
            fitting = [
                i
                for i in candidates
                if any(
                    r is not None
                    and all(
                        episode.labels.get(k) == v for k, v in r.labels.items() if "{{" not in v
                    )
                    for r in pairs[i][:2]
                )
            ]
            index = (fitting or candidates or [-1])[0]
        if index >= 0:
            out[index].append(episode)
    return out
