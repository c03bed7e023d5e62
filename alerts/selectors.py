"""Read-side queries of the alerts app."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import (
    Case,
    Count,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce

from alerts.models import AlertRule, Episode, RuleFlag, RuleWeek
from core.choices import Severity
from core.weeks import current_week, week_of, week_shift
from fleet.models import AISystem

# Values per IN list: well under SQLite's parameter limit.
_IN_CHUNK = 500


def rule_matches(rule: AlertRule, labels: Mapping[str, str]) -> bool:
    return all(labels.get(name) == value for name, value in (rule.matchers or {}).items())


def rule_resolve(candidates: Iterable[AlertRule], labels: Mapping[str, str]) -> AlertRule | None:
    """The most specific rule whose matchers all hold for these labels.

    Candidates share one alertname. The rule with the most matchers wins, so a rule for
    `model=fraud-scorer` beats the catch-all rule with no matchers; ties go to the oldest rule.
    """
    best: AlertRule | None = None
    for rule in candidates:
        if not rule_matches(rule, labels):
            continue
        if best is None or rule_precedence(rule) > rule_precedence(best):
            best = rule
    return best


def rule_precedence(rule: AlertRule) -> tuple[int, float]:
    """Which of two matching rules wins in `rule_resolve`: more matchers, then the older rule.

    A rule not yet saved (no pk) is the newest, so it loses every tie.
    """
    return len(rule.matchers or {}), -(rule.pk if rule.pk is not None else math.inf)


def rule_outranks(rule: AlertRule, other: AlertRule) -> bool:
    """Would `rule` take alerts that `other` catches? Both have the same alertname; there are
    labels on which both match (no matcher contradicts the other's) and `rule` wins there."""
    overlap = not _contradicts(rule, other.matchers or {})
    return overlap and rule_precedence(rule) > rule_precedence(other)


def query_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels of a lookup (URL or API query): an empty value counts as absent.

    A `runbook_url` that templates a label the series does not carry expands to `?model=`;
    that says nothing about the model, so it must not rule out the model's rule.
    """
    return {name: value for name, value in labels.items() if value != "" and name != "alertname"}


@dataclass(frozen=True)
class RuleResolution:
    """The answer to "which catalogued rule is this alert?" for a lookup.

    `rule` is set when the labels select exactly one rule; otherwise `candidates` holds the
    rules they do not rule out (several: ambiguous; none with `known` rules: the labels
    contradict every rule with that alertname).
    """

    rule: AlertRule | None
    candidates: list[AlertRule]
    known: list[AlertRule]

    @property
    def ambiguous(self) -> bool:
        return self.rule is None and len(self.candidates) > 1

    @property
    def reason(self) -> str:
        """Why `rule` answers (`rule_resolution` documents the two ways), or why none does."""
        if self.rule is not None:
            return "only_candidate" if len(self.candidates) == 1 else "most_specific"
        return "ambiguous" if self.ambiguous else "no_candidate"


def _contradicts(rule: AlertRule, labels: Mapping[str, str]) -> bool:
    return any(name in labels and labels[name] != value for name, value in rule.matchers.items())


def _includes(rule: AlertRule, other: AlertRule) -> bool:
    return all(rule.matchers.get(name) == value for name, value in other.matchers.items())


def rule_resolution(known: Iterable[AlertRule], labels: Mapping[str, str]) -> RuleResolution:
    """Resolve a lookup (alertname's rules + query labels) to one rule, or say why not.

    Unlike `rule_resolve` (ingest: a delivered alert carries all its labels), a lookup may
    give only some labels. A rule is a candidate unless a given label contradicts one of
    its matchers; empty values count as absent. The answer is the only candidate, or the
    candidate whose matchers all hold and include every other candidate's matchers (the
    most specific match: `model=a` beats the catch-all when `model=a` is given). Anything
    else is ambiguous, and the caller shows the candidates instead of guessing.
    """
    rules = sorted(known, key=lambda rule: rule.pk)
    given = query_labels(labels)
    candidates = [rule for rule in rules if not _contradicts(rule, given)]
    if len(candidates) == 1:
        return RuleResolution(candidates[0], candidates, rules)
    for rule in candidates:
        if rule_matches(rule, given) and all(_includes(rule, other) for other in candidates):
            return RuleResolution(rule, candidates, rules)
    return RuleResolution(None, candidates, rules)


def rules_by_alertname(alertnames: Iterable[str]) -> dict[str, list[AlertRule]]:
    """All rules for these alertnames, in one query, grouped by name."""
    grouped: dict[str, list[AlertRule]] = defaultdict(list)
    names = set(alertnames)
    if not names:
        return {}
    for rule in AlertRule.objects.filter(alertname__in=names).select_related(
        "owner_team", "system__owner_team", "runbook"
    ):
        grouped[rule.alertname].append(rule)
    return dict(grouped)


# --- Noise: the catalog pages and the evaluation commands -------------------------------------


def weeks_with_episodes(*, until: str | None = None) -> list[str]:
    """Every ISO week from the first episode's to `until` (default: this week), oldest first."""
    first = Episode.objects.aggregate(first=Min("starts_at"))["first"]
    last = until or current_week()
    if first is None:
        return []
    weeks = [week_of(first)]
    while weeks[-1] < last:
        weeks.append(week_shift(weeks[-1], 1))
    return weeks


@dataclass(frozen=True)
class CatalogFilters:
    team: str = ""
    layer: str = ""
    severity: str = ""
    status: str = ""
    flag: str = ""
    uncatalogued: bool = False
    firing: bool = False


def _fires_since(since: datetime) -> Subquery:
    counts = (
        Episode.objects.filter(rule=OuterRef("pk"), starts_at__gte=since)
        .order_by()
        .values("rule")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Subquery(counts, output_field=IntegerField())


def rules_matching(filters: CatalogFilters, *, week: str) -> QuerySet[AlertRule]:
    """The rules the /alerts/ filters select (`flag` looks at `week`), unannotated."""
    rules = AlertRule.objects.all()
    if filters.team:
        # The owner as alerts.catalog.ownership defines it (the rule's team, else its system's).
        rules = rules.filter(
            Q(owner_team__slug=filters.team)
            | Q(owner_team__isnull=True, system__owner_team__slug=filters.team)
        )
    if filters.layer:
        rules = rules.filter(layer=filters.layer)
    if filters.severity:
        rules = rules.filter(severity=filters.severity)
    if filters.status:
        rules = rules.filter(status=filters.status)
    if filters.uncatalogued:
        rules = rules.filter(catalogued=False)
    if filters.flag:
        flagged = RuleFlag.objects.filter(week=week, flag=filters.flag).values("rule_id")
        rules = rules.filter(pk__in=flagged)
    if filters.firing:
        rules = rules.filter(pk__in=Episode.objects.open().values("rule_id"))
    return rules


def rules_for_catalog(filters: CatalogFilters, *, week: str, now: datetime) -> QuerySet[AlertRule]:
    """Rules for /alerts/ with `fires_7d` and `fires_28d`, filtered; `flag` filters on `week`."""
    rules = (
        rules_matching(filters, week=week)
        .select_related("owner_team", "system__owner_team", "runbook")
        .annotate(
            fires_7d=Coalesce(_fires_since(now - timedelta(days=7)), 0),
            fires_28d=Coalesce(_fires_since(now - timedelta(days=28)), 0),
        )
    )
    return rules.order_by("alertname", "matchers_key")


# --- Firing now: the overview, /fleet/<slug>/, /alerts/?firing=1 and /alerts/<id>/ ------------

# Worst first: the order of `Severity` (page, critical, warning, ticket, info), then no severity.
_SEVERITY_RANK = Case(
    *(When(rule__severity=value, then=Value(rank)) for rank, value in enumerate(Severity.values)),
    default=Value(len(Severity.values)),
    output_field=IntegerField(),
)
FIRING_SHOWN = 20


def episodes_firing_now(
    *, system: AISystem | None = None, rules: QuerySet[AlertRule] | None = None
) -> QuerySet[Episode]:
    """Open episodes (no end yet), worst severity first, then the longest firing, in one query.

    The rule, its owner team and system and the episode's own system are joined. `system`
    keeps episodes on that system (the episode's or its rule's); `rules` keeps those rules'.
    """
    episodes = (
        Episode.objects.open()
        .select_related("rule__owner_team", "rule__system", "system")
        .alias(severity_rank=_SEVERITY_RANK)
        .order_by("severity_rank", "starts_at", "id")
    )
    if system is not None:
        episodes = episodes.filter(Q(system=system) | Q(rule__system=system))
    if rules is not None:
        episodes = episodes.filter(rule__in=rules.values("pk"))
    return episodes


@dataclass(frozen=True)
class FiringNow:
    """What the `alerts/_firing_now.html` block shows: the first rows and how many there are."""

    rows: list[tuple[Episode, float]]  # episode, seconds it has been firing at `now`
    total: int
    more_url: str = ""

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def firing_now(
    *,
    now: datetime,
    system: AISystem | None = None,
    rules: QuerySet[AlertRule] | None = None,
    limit: int = FIRING_SHOWN,
    more_url: str = "",
) -> FiringNow:
    """The first `limit` of `episodes_firing_now` and how many there are, in one query (a
    window count is computed before the LIMIT)."""
    episodes = episodes_firing_now(system=system, rules=rules).annotate(
        firing_total=Window(Count("id"))
    )
    shown = list(episodes[:limit])
    total = shown[0].firing_total if shown else 0
    rows: list[tuple[Episode, float]] = [
        (episode, episode.duration_seconds(now=now)) for episode in shown
    ]
    return FiringNow(rows=rows, total=total, more_url=more_url)


def flags_by_rule(rule_ids: Iterable[int], *, week: str) -> dict[int, list[RuleFlag]]:
    grouped: dict[int, list[RuleFlag]] = defaultdict(list)
    for flag in RuleFlag.objects.filter(rule_id__in=list(rule_ids), week=week).order_by("flag"):
        grouped[flag.rule_id].append(flag)
    return dict(grouped)


def weekly_fires(rule_ids: Iterable[int], *, weeks: list[str]) -> dict[int, list[int]]:
    """Fires per rule over `weeks` (oldest first) from the evaluated RuleWeek rows, zeros where
    a week has no row."""
    index = {week: i for i, week in enumerate(weeks)}
    series: dict[int, list[int]] = {}
    ids = list(rule_ids)
    for rule_id in ids:
        series[rule_id] = [0] * len(weeks)
    rows = RuleWeek.objects.filter(rule_id__in=ids, week__in=weeks).values_list(
        "rule_id", "week", "fires"
    )
    for rule_id, week, fires in rows:
        series[rule_id][index[week]] = fires
    return series


def rule_weeks(rule: AlertRule, *, weeks: list[str]) -> list[RuleWeek | None]:
    """The rule's RuleWeek per week of `weeks` (None where never evaluated), oldest first."""
    found = {row.week: row for row in RuleWeek.objects.filter(rule=rule, week__in=weeks)}
    return [found.get(week) for week in weeks]


def rule_episodes(rule: AlertRule) -> QuerySet[Episode]:
    return Episode.objects.filter(rule=rule).select_related("system").order_by("-starts_at", "-id")


def rule_candidates(alertnames: Iterable[str]) -> dict[str, list[AlertRule]]:
    """Like `rules_by_alertname`, for the ingest path: only the columns ingest reads.

    One raw SELECT without joins or ordering: the ORM's compilation and the select_related
    hydration were ~5 times the CPU of this, paid on every webhook delivery. The other fields
    are deferred (loaded on access), so the rules behave as usual if a caller reads more.
    """
    names = sorted(set(alertnames))
    if not names:
        return {}
    grouped: dict[str, list[AlertRule]] = defaultdict(list)
    for start in range(0, len(names), _IN_CHUNK):
        chunk = names[start : start + _IN_CHUNK]
        sql = (
            "SELECT id, alertname, matchers, system_id, last_fired_at "  # noqa: S608
            f"FROM {AlertRule._meta.db_table} WHERE alertname IN ({', '.join(['%s'] * len(chunk))})"
        )
        for rule in AlertRule.objects.raw(sql, chunk):
            grouped[rule.alertname].append(rule)
    return dict(grouped)
