"""Read-side queries of the alerts app."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from alerts.models import AlertRule

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
        if best is None or (len(rule.matchers), -rule.pk) > (len(best.matchers), -best.pk):
            best = rule
    return best


def rules_by_alertname(alertnames: Iterable[str]) -> dict[str, list[AlertRule]]:
    """All rules for these alertnames, in one query, grouped by name."""
    grouped: dict[str, list[AlertRule]] = defaultdict(list)
    names = set(alertnames)
    if not names:
        return {}
    for rule in AlertRule.objects.filter(alertname__in=names).select_related(
        "owner_team", "system", "runbook"
    ):
        grouped[rule.alertname].append(rule)
    return dict(grouped)


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
