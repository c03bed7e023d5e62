"""The demo's rules as the rule files a team would keep in its repository (`rules/<team>.yml`,
one group per system), so that a tune, prune or retire decided in the demo's review turns into
a patch on the review's "Rule-file patch" page, as it does for rules imported with
`import_rules`."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import yaml

from alerts.catalog.ownership import runbook_url_annotation
from alerts.catalog.rulefiles import rule_file_text_keep
from alerts.models import AlertRule, RuleFileText
from core.durations import duration_format

FLEET_GROUP = "fleet"


def _entry(rule: AlertRule) -> dict[str, Any]:
    entry: dict[str, Any] = {"alert": rule.alertname, "expr": rule.expression}
    if rule.for_duration:
        entry["for"] = duration_format(rule.for_duration)
    entry["labels"] = dict(rule.labels)
    entry["annotations"] = {
        "summary": rule.summary,
        "runbook_url": runbook_url_annotation(rule.alertname, rule.labels),
    }
    return entry


def demo_rule_files() -> int:
    """Write each owning team's file and point its rules at it; returns the files written
    (0 when they are already as the rules say)."""
    rules = (
        AlertRule.objects.filter(catalogued=True, owner_team__isnull=False)
        .select_related("owner_team", "system")
        .order_by("owner_team__slug", "system__slug", "alertname", "matchers_key")
    )
    groups: dict[str, dict[str, list[AlertRule]]] = defaultdict(lambda: defaultdict(list))
    for rule in rules:
        team_slug = rule.owner_team.slug if rule.owner_team else ""  # never blank: filtered
        group = rule.system.slug if rule.system else FLEET_GROUP
        groups[team_slug][group].append(rule)
    written = 0
    for team_slug, by_group in groups.items():
        path = f"rules/{team_slug}.yml"
        document = {
            "groups": [
                {"name": name, "rules": [_entry(rule) for rule in members]}
                for name, members in by_group.items()
            ]
        }
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
        for name, members in by_group.items():
            AlertRule.objects.filter(pk__in=[rule.pk for rule in members]).exclude(
                source_file=path, source_group=name
            ).update(source_file=path, source_group=name)
        sha = hashlib.sha256(text.encode()).hexdigest()
        if not RuleFileText.objects.filter(path=path, sha256=sha).exists():
            rule_file_text_keep(path, text)
            written += 1
    return written
