"""Installing the runbooks and alert rules Steward ships for monitoring itself."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from alerts.lint.yamlfile import RuleFileError, rule_file_load
from alerts.models import AlertRule
from core.choices import Source
from core.durations import DurationError, duration_parse
from fleet.models import Team
from runbooks.models import Runbook
from runbooks.services import runbook_save

OPERATORS_TEAM_SLUG = "steward-operators"


class ShippedRulesError(ValueError):
    """The rule file or the runbooks directory cannot be installed; the message says why."""


@dataclass(frozen=True)
class ShippedRule:
    alertname: str
    expression: str
    for_duration: timedelta | None
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass
class InstallResult:
    runbooks_created: list[str] = field(default_factory=list)
    runbooks_updated: list[str] = field(default_factory=list)
    rules_catalogued: list[str] = field(default_factory=list)


def alertname_slug(alertname: str) -> str:
    """`StewardIngestErrors` -> `steward-ingest-errors`: the runbook file of an alert."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", alertname).lower()


def shipped_rules_parse(text: str, *, filename: str) -> list[ShippedRule]:
    """The alerting rules of a Prometheus rule file (recording rules are ignored)."""
    try:
        document = rule_file_load(text, filename=filename)
    except RuleFileError as error:
        raise ShippedRulesError(str(error)) from None
    rules: list[ShippedRule] = []
    for group in document["groups"]:
        for rule in (group or {}).get("rules") or []:
            if not isinstance(rule, dict) or "alert" not in rule:
                continue
            rules.append(_shipped_rule(rule, filename=filename))
    return rules


def _shipped_rule(rule: dict[str, Any], *, filename: str) -> ShippedRule:
    alertname = str(rule["alert"])
    if not rule.get("expr"):
        raise ShippedRulesError(f"{filename}: alert {alertname} has no expr.")
    duration = rule.get("for")
    return ShippedRule(
        alertname=alertname,
        expression=str(rule["expr"]).strip(),
        for_duration=_for_duration(duration, filename=filename),
        labels={str(k): str(v) for k, v in (rule.get("labels") or {}).items()},
        annotations={str(k): str(v) for k, v in (rule.get("annotations") or {}).items()},
    )


def _for_duration(value: object, *, filename: str) -> timedelta | None:
    if not value:
        return None
    try:
        return duration_parse(str(value))
    except DurationError as error:
        raise ShippedRulesError(f"{filename}: {error}") from None


def _title(markdown: str, *, fallback: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return fallback


@transaction.atomic
def operator_runbooks_install(*, runbooks_dir: Path, rules_file: Path) -> InstallResult:
    """Create or update Steward's own runbooks and catalog its own alert rules.

    1. Parse the rule file first, so that a broken file changes nothing.
    2. Make sure the `steward-operators` team exists; it owns everything installed here.
    3. Save each `<slug>.md` as runbook <slug> through runbook_save (revisions are kept, and a
       changed text counts as reviewed now: it was reviewed for the release that ships it).
    4. Catalog each alert, linked to the runbook named after it (`alertname_slug`).
    """
    rules = shipped_rules_parse(rules_file.read_text(), filename=str(rules_file))
    team, _ = Team.objects.get_or_create(
        slug=OPERATORS_TEAM_SLUG, defaults={"name": "Steward operators"}
    )
    result = InstallResult()
    runbooks: dict[str, Runbook] = {}
    for path in sorted(runbooks_dir.glob("*.md")):
        runbooks[path.stem] = _runbook_install(path=path, team=team, result=result)
    for rule in rules:
        runbook = runbooks.get(alertname_slug(rule.alertname))
        if runbook is None:
            raise ShippedRulesError(
                f"Alert {rule.alertname} has no runbook: add "
                f"{runbooks_dir / (alertname_slug(rule.alertname) + '.md')}."
            )
        _rule_catalog(rule=rule, team=team, runbook=runbook)
        result.rules_catalogued.append(rule.alertname)
    return result


def _runbook_install(*, path: Path, team: Team, result: InstallResult) -> Runbook:
    body = path.read_text()
    runbook = Runbook.objects.filter(slug=path.stem).first()
    changed = runbook is None or runbook.body != body or runbook.owner_team_id != team.pk
    if runbook is None:
        runbook = Runbook(slug=path.stem)
        result.runbooks_created.append(path.stem)
    elif changed:
        result.runbooks_updated.append(path.stem)
    if not changed:
        return runbook
    return runbook_save(
        runbook=runbook,
        author=None,
        note=f"Installed from {path.name} by install_runbooks",
        title=_title(body, fallback=path.stem),
        body=body,
        owner_team=team,
        last_reviewed_at=timezone.now(),
    )


def _rule_catalog(*, rule: ShippedRule, team: Team, runbook: Runbook) -> AlertRule:
    alert_rule, _ = AlertRule.objects.update_or_create(
        alertname=rule.alertname,
        matchers_key="",
        defaults={
            "severity": rule.labels.get("severity", ""),
            "layer": rule.labels.get("layer", ""),
            "owner_team": team,
            "runbook": runbook,
            "source": Source.PROMETHEUS,
            "expression": rule.expression,
            "for_duration": rule.for_duration,
            "summary": rule.annotations.get("summary", "")[:500],
            "labels": rule.labels,
            "catalogued": True,
        },
    )
    return alert_rule
