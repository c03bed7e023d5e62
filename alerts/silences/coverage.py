"""Which catalogued rules and owner teams a set of silences covers, in bulk.

Rules are loaded once (with the joins ownership needs) and indexed by alertname: a silence
with `alertname="X"` is compared with X's rules only; one without an alertname equality
against every rule. Silences with the same matchers share one answer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from alerts.catalog.ownership import rule_owner_team_id
from alerts.models import AlertRule
from alerts.silences.matchers import Coverage, Matcher, rule_coverage, rule_known_labels


@dataclass
class CatalogIndex:
    """The catalogued rules, indexed for coverage questions."""

    rules: list[AlertRule]
    by_alertname: dict[str, list[AlertRule]] = field(default_factory=dict)
    owner: dict[int, int | None] = field(default_factory=dict)
    known: dict[int, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, rules: Iterable[AlertRule] | None = None) -> CatalogIndex:
        if rules is None:
            rules = AlertRule.objects.filter(catalogued=True).select_related("system")
        loaded = list(rules)
        by_name: dict[str, list[AlertRule]] = defaultdict(list)
        for rule in loaded:
            by_name[rule.alertname].append(rule)
        return cls(
            rules=loaded,
            by_alertname=dict(by_name),
            owner={rule.pk: rule_owner_team_id(rule) for rule in loaded},
            known={rule.pk: rule_known_labels(rule) for rule in loaded},
        )

    def candidates(self, matchers: Sequence[Matcher]) -> list[AlertRule]:
        for matcher in matchers:
            if matcher.name == "alertname" and matcher.is_equal and not matcher.is_regex:
                return self.by_alertname.get(matcher.value, [])
        return self.rules


@dataclass(frozen=True)
class SilenceCoverageResult:
    rules: dict[int, Coverage]  # rule id → full/partial
    teams: frozenset[int]


def coverage_of(
    matchers: Sequence[Matcher],
    index: CatalogIndex,
    cache: dict[tuple[Matcher, ...], SilenceCoverageResult] | None = None,
) -> SilenceCoverageResult:
    key = tuple(matchers)
    if cache is not None and key in cache:
        return cache[key]
    rules: dict[int, Coverage] = {}
    for rule in index.candidates(matchers):
        kind = rule_coverage(matchers, rule, index.known.get(rule.pk))
        if kind is not None:
            rules[rule.pk] = kind
    teams = frozenset(t for pk in rules if (t := index.owner.get(pk)) is not None)
    result = SilenceCoverageResult(rules=rules, teams=teams)
    if cache is not None:
        cache[key] = result
    return result
