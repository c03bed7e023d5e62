"""Alertmanager's matcher semantics, the one home for them in Steward.

A silence (or an inhibition, a route) selects alerts with matchers: `name=value`,
`name!=value`, `name=~regex`, `name!~regex`. Regexes are fully anchored (`^(?:regex)$`, Go's
RE2 syntax, of which Python's `re` reads the common part), and a label the alert does not carry
has the value "" (so `team=""` matches alerts without a team, and `team!~".+"` too).
An alert is silenced when every matcher of the silence holds.

`rule_matchers` writes the matchers that select exactly the alerts of one catalogued rule (the
silence a mute decision creates); `rule_coverage` says which catalogued rules a silence covers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from alerts.models import AlertRule
from alerts.selectors import rule_outranks


class MatcherError(ValueError):
    """A matcher Steward cannot read (bad shape, or a regex that does not compile)."""


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    @property
    def op(self) -> str:
        return {
            (False, True): "=",
            (False, False): "!=",
            (True, True): "=~",
            (True, False): "!~",
        }[(self.is_regex, self.is_equal)]

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'

    def matches(self, value: str) -> bool:
        """Does this matcher hold for a label value ("" for a missing label)?"""
        if self.is_regex:
            hit = _anchored(self.value).match(value) is not None
        else:
            hit = value == self.value
        return hit if self.is_equal else not hit

    def to_api(self) -> dict[str, Any]:
        """The shape of Alertmanager API v2 (`matchers[]` of a silence)."""
        return {
            "name": self.name,
            "value": self.value,
            "isRegex": self.is_regex,
            "isEqual": self.is_equal,
        }

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Matcher:
        try:
            name, value = data["name"], data["value"]
        except (KeyError, TypeError) as error:
            raise MatcherError(f"A matcher needs a name and a value: {data!r}") from error
        if not isinstance(name, str) or not isinstance(value, str) or not name:
            raise MatcherError(f"A matcher's name and value are text: {data!r}")
        matcher = cls(
            name=name,
            value=value,
            is_regex=bool(data.get("isRegex", False)),
            # Alertmanager before 0.22 had no isEqual: absent means equal.
            is_equal=bool(data.get("isEqual", True)),
        )
        if matcher.is_regex:
            try:
                _anchored(matcher.value)
            except re.error as error:
                raise MatcherError(f"{matcher}: the regex does not compile ({error})") from error
        return matcher


@lru_cache(maxsize=4096)
def _anchored(regex: str) -> re.Pattern[str]:
    # Go's `.` does not match a newline by default, nor does Python's: no DOTALL.
    return re.compile(f"^(?:{regex})$")


def matchers_from_api(items: Iterable[Mapping[str, Any]]) -> list[Matcher]:
    return [Matcher.from_api(item) for item in items]


def matchers_to_api(matchers: Iterable[Matcher]) -> list[dict[str, Any]]:
    return [matcher.to_api() for matcher in matchers]


def silence_matches(matchers: Sequence[Matcher], labels: Mapping[str, str]) -> bool:
    """Does a silence with these matchers silence an alert with these labels?"""
    return all(matcher.matches(labels.get(matcher.name, "")) for matcher in matchers)


def matchers_text(matchers: Iterable[Matcher]) -> str:
    """`{alertname="X", model=~"a|b"}`, as amtool and the Alertmanager UI show them."""
    return "{" + ", ".join(str(matcher) for matcher in matchers) + "}"


def rule_matchers(rule: AlertRule, siblings: Iterable[AlertRule] = ()) -> list[Matcher]:
    """The matchers that select exactly the alerts of a catalogued rule.

    A rule is its `alertname` plus its label equalities (`AlertRule.matchers`). When more
    specific rules share the alertname (`siblings`: the other rules with that name, as
    `alerts.selectors.rules_by_alertname` gives them) they take the alerts that fit them
    (`alerts.selectors.rule_resolve`), so their alerts are left out with `name!~"a|b"` for
    every sibling that adds exactly one label to this rule's matchers. A sibling adding two
    labels or more cannot be excluded with matchers (no "or"); its alerts stay included.
    """
    matchers = [Matcher("alertname", rule.alertname)]
    matchers += [Matcher(name, value) for name, value in sorted((rule.matchers or {}).items())]
    own = rule.matchers or {}
    excluded: dict[str, set[str]] = {}
    for other in siblings:
        if other.pk == rule.pk or other.alertname != rule.alertname:
            continue
        extra = {k: v for k, v in (other.matchers or {}).items() if k not in own}
        includes_own = all((other.matchers or {}).get(k) == v for k, v in own.items())
        if includes_own and len(extra) == 1 and rule_outranks(other, rule):
            ((name, value),) = extra.items()
            excluded.setdefault(name, set()).add(value)
    for name in sorted(excluded):
        values = sorted(excluded[name])
        if len(values) == 1:
            matchers.append(Matcher(name, values[0], is_equal=False))
        else:
            regex = "|".join(re.escape(value) for value in values)
            matchers.append(Matcher(name, regex, is_regex=True, is_equal=False))
    return matchers


class Coverage(StrEnum):
    """How a silence covers a rule: every alert of it (full) or only some (partial)."""

    FULL = "full"
    PARTIAL = "partial"


def rule_known_labels(rule: AlertRule) -> dict[str, str]:
    """The labels every alert of the rule carries with these values: its static labels, its
    matchers and its alertname."""
    known = {str(k): str(v) for k, v in (rule.labels or {}).items()}
    known.update(rule.matchers or {})
    known["alertname"] = rule.alertname
    return known


def rule_coverage(
    matchers: Sequence[Matcher], rule: AlertRule, known: Mapping[str, str] | None = None
) -> Coverage | None:
    """Does a silence cover a rule's alerts: all of them, some of them, or none?

    A matcher on a label the rule fixes (`rule_known_labels`) is decided on that value. A
    matcher on any other label depends on the alert: the silence then covers the rule only
    partially, and only when at least one matcher is decided on the rule (otherwise a silence
    on `instance="x"` alone would cover every rule). `known` passes `rule_known_labels(rule)`
    when the caller has it already.
    """
    if known is None:
        known = rule_known_labels(rule)
    decided = undecided = 0
    for matcher in matchers:
        if matcher.name in known:
            if not matcher.matches(known[matcher.name]):
                return None
            decided += 1
        else:
            undecided += 1
    if decided == 0:
        return None
    return Coverage.PARTIAL if undecided else Coverage.FULL
