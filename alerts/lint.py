"""The lint gate: Prometheus rule files checked against the catalog (DESIGN.md "The lint gate").

`lint_rule_files` is the one entry point, used by `POST /api/v1/rules/lint/` and
`manage.py lint_rules`:

1. Parse each file with line numbers; YAML and structure errors become violations.
2. Load what the checks need in a constant number of queries (teams, catalog rules for every
   alertname, runbooks named by URL, waivers), whatever the size of the files.
3. Check each alert rule (owner, severity, layer, summary, runbook_url, `for:` of page alerts,
   PromQL shape) and each recording rule (PromQL shape).
4. Apply waivers: an active waiver for (alert, check) turns the violation into "waived"; an
   expired one leaves it failing and says so.
5. Optionally forecast each alert against Prometheus (alerts.lint_forecast).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings
from django.utils import timezone

from alerts.lint_promql import promql_problems
from alerts.lint_yaml import LineDict, YamlError, load_with_lines
from alerts.models import AlertRule, Layer, LintCheck, Severity, Waiver
from alerts.selectors import rule_resolve, rules_by_alertname
from fleet.models import Team
from runbooks.models import Runbook

PAGE_MIN_FOR = timedelta(minutes=2)
PAGING = {Severity.PAGE.value, Severity.CRITICAL.value}
_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$"
)
_DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)


class Status:
    ERROR = "error"
    WAIVED = "waived"
    WARNING = "warning"


@dataclass
class Violation:
    file: str
    line: int
    group: str
    alert: str
    check: str
    message: str
    status: str = Status.ERROR
    waiver: dict[str, Any] | None = None


@dataclass
class AlertEntry:
    """One alert rule of a file, with where it is."""

    file: str
    group: str
    rule: LineDict
    alert: str
    expr: str
    for_duration: timedelta | None
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass
class LintReport:
    files: int = 0
    groups: int = 0
    alerts: int = 0
    recording_rules: int = 0
    violations: list[Violation] = field(default_factory=list)
    forecasts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(v.status == Status.ERROR for v in self.violations)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": self.files,
            "groups": self.groups,
            "alerts": self.alerts,
            "recording_rules": self.recording_rules,
            "errors": self.errors,
            "waived": sum(v.status == Status.WAIVED for v in self.violations),
            "warnings": sum(v.status == Status.WARNING for v in self.violations),
            "violations": [asdict(v) for v in self.violations],
            "forecasts": self.forecasts,
        }


def parse_duration(text: str) -> timedelta | None:
    """A Prometheus duration ("5m", "1h30m", "90s") or None when malformed."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        return None
    seconds = sum(
        int(n) * unit for n, unit in zip(match.groups(), _DURATION_UNITS, strict=True) if n
    )
    return timedelta(seconds=seconds)


def _string_map(value: Any) -> dict[str, str] | None:
    if value is None:
        return {}
    if not isinstance(value, dict):
        return None
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


class _Collector:
    """Step 1: walk the files, collect alert entries and structure violations."""

    def __init__(self, report: LintReport) -> None:
        self.report = report
        self.entries: list[AlertEntry] = []

    def add(
        self, file: str, line: int, check: str, message: str, group: str = "", alert: str = ""
    ) -> None:
        self.report.violations.append(Violation(file, line, group, alert, check, message))

    def collect(self, name: str, text: str) -> None:
        self.report.files += 1
        try:
            document = load_with_lines(text)
        except YamlError as error:
            self.add(name, error.line, LintCheck.YAML, error.message)
            return
        if not isinstance(document, LineDict) or not isinstance(document.get("groups"), list):
            line = document.line if isinstance(document, LineDict) else 1
            self.add(
                name, line, LintCheck.STRUCTURE, "A rule file is a mapping with a `groups:` list."
            )
            return
        for group in document["groups"]:
            self._group(name, document, group)

    def _group(self, name: str, document: LineDict, group: Any) -> None:
        if not isinstance(group, LineDict):
            self.add(
                name,
                document.line_of("groups"),
                LintCheck.STRUCTURE,
                "Each group is a mapping with `name:` and `rules:`.",
            )
            return
        self.report.groups += 1
        group_name = group.get("name")
        if not isinstance(group_name, str) or not group_name.strip():
            self.add(name, group.line, LintCheck.STRUCTURE, "The group needs a `name:`.")
            group_name = ""
        rules = group.get("rules")
        if not isinstance(rules, list):
            self.add(
                name,
                group.line_of("rules"),
                LintCheck.STRUCTURE,
                "The group needs a `rules:` list.",
                group_name,
            )
            return
        for rule in rules:
            self._rule(name, group_name, group, rule)

    def _rule(self, name: str, group_name: str, group: LineDict, rule: Any) -> None:
        if not isinstance(rule, LineDict):
            self.add(
                name,
                group.line_of("rules"),
                LintCheck.STRUCTURE,
                "Each rule is a mapping with `alert:` or `record:` and `expr:`.",
                group_name,
            )
            return
        alert, record, expr = rule.get("alert"), rule.get("record"), rule.get("expr")
        label = str(alert or record or "")
        if (alert is None) == (record is None):
            self.add(
                name,
                rule.line,
                LintCheck.STRUCTURE,
                "A rule has exactly one of `alert:` or `record:`.",
                group_name,
                label,
            )
            return
        if not isinstance(expr, str | int | float):
            self.add(
                name,
                rule.line,
                LintCheck.STRUCTURE,
                "The rule needs an `expr:` (a PromQL expression).",
                group_name,
                label,
            )
            return
        expr_text = str(expr)
        for offset, message in promql_problems(expr_text):
            line = rule.value_lines.get("expr", rule.line) + expr_text.count("\n", 0, offset)
            self.add(name, line, LintCheck.PROMQL, message, group_name, label)
        if record is not None:
            self.report.recording_rules += 1
            return
        self.report.alerts += 1
        self._alert(name, group_name, rule, str(alert), expr_text)

    def _alert(self, name: str, group_name: str, rule: LineDict, alert: str, expr: str) -> None:
        labels, annotations = _string_map(rule.get("labels")), _string_map(rule.get("annotations"))
        if labels is None or annotations is None:
            self.add(
                name,
                rule.line,
                LintCheck.STRUCTURE,
                "`labels:` and `annotations:` are mappings of strings.",
                group_name,
                alert,
            )
            return
        for_duration: timedelta | None = None
        if rule.get("for") is not None:
            for_duration = parse_duration(str(rule["for"]))
            if for_duration is None:
                self.add(
                    name,
                    rule.line_of("for"),
                    LintCheck.STRUCTURE,
                    f"`for: {rule['for']}` is not a duration like 5m.",
                    group_name,
                    alert,
                )
                return
        self.entries.append(
            AlertEntry(name, group_name, rule, alert, expr, for_duration, labels, annotations)
        )


@dataclass
class _Catalog:
    """Step 2: everything the checks look up, loaded once."""

    team_slugs: set[str]
    rules: dict[str, list[AlertRule]]
    runbook_slugs: set[str]
    waivers: dict[tuple[str, str], list[Waiver]]

    @classmethod
    def load(cls, entries: Sequence[AlertEntry]) -> _Catalog:
        names = {entry.alert for entry in entries}
        slugs: set[str] = set()
        for entry in entries:
            target = _runbook_target(entry.annotations.get("runbook_url", ""))
            if target is not None:
                kind, value = target[0], target[1]
                (names if kind == "for" else slugs).add(value)
        # YAML can spell NUL ("\0"); such names match nothing and PostgreSQL refuses them.
        names = {name for name in names if "\x00" not in name}
        slugs = {slug for slug in slugs if "\x00" not in slug}
        waivers: dict[tuple[str, str], list[Waiver]] = {}
        for waiver in Waiver.objects.filter(alertname__in=names).select_related("approver"):
            waivers.setdefault((waiver.alertname, waiver.lint_check), []).append(waiver)
        return cls(
            team_slugs=set(Team.objects.values_list("slug", flat=True)),
            rules=rules_by_alertname(names),
            runbook_slugs=set(
                Runbook.objects.filter(slug__in=slugs).values_list("slug", flat=True)
            ),
            waivers=waivers,
        )

    def resolve(self, alertname: str, labels: dict[str, str]) -> AlertRule | None:
        return rule_resolve(self.rules.get(alertname, ()), labels)


def _runbook_target(url: str) -> tuple[str, str, dict[str, str]] | None:
    """("slug", slug, {}) or ("for", alertname, labels) when url is a Steward runbook URL."""
    if not url:
        return None
    base, parts = urlsplit(settings.STEWARD_BASE_URL), urlsplit(url.strip())
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        return None
    prefix = base.path.rstrip("/") + "/runbooks/"
    if not parts.path.startswith(prefix):
        return None
    rest = [unquote(piece) for piece in parts.path[len(prefix) :].split("/")]
    # Templated values ({{ $labels.model }}) are only known at firing time: ignore them.
    labels = {k: v for k, v in parse_qsl(parts.query) if "{{" not in v}
    if len(rest) == 3 and rest[0] == "for" and rest[1] and not rest[2]:
        return ("for", rest[1], labels)
    if len(rest) == 2 and rest[0] and not rest[1] and rest[0] != "for":
        return ("slug", rest[0], {})
    return None


def _check_alert(entry: AlertEntry, catalog: _Catalog) -> Iterable[tuple[str, int, str]]:
    """Step 3: (check, line, message) for each problem of one alert rule."""
    rule, labels, annotations = entry.rule, entry.labels, entry.annotations
    label_lines = rule.get("labels") if isinstance(rule.get("labels"), LineDict) else None
    notes = rule.get("annotations") if isinstance(rule.get("annotations"), LineDict) else None

    def label_line(name: str) -> int:
        return label_lines.line_of(name) if label_lines is not None else rule.line_of("labels")

    def note_line(name: str) -> int:
        return notes.line_of(name) if notes is not None else rule.line_of("annotations")

    catalogued = catalog.resolve(entry.alert, labels)
    team = labels.get("team", "")
    if team and team not in catalog.team_slugs:
        yield (
            LintCheck.OWNER,
            label_line("team"),
            f"`team: {team}` names no Steward team; use the slug of a registered team.",
        )
    elif not team and (catalogued is None or catalogued.owner_team_id is None):
        yield (
            LintCheck.OWNER,
            rule.line,
            f"No owner: add a `team` label with a Steward team slug, or register "
            f"{entry.alert} in the catalog with an owner team.",
        )
    allowed = ", ".join(Severity.values)
    severity = labels.get("severity", "")
    if not severity:
        yield (
            LintCheck.SEVERITY,
            rule.line_of("labels"),
            f"Add a `severity` label: one of {allowed}.",
        )
    elif severity not in Severity.values:
        yield (
            LintCheck.SEVERITY,
            label_line("severity"),
            f"Severity `{severity}` is not allowed; use one of {allowed}.",
        )
    layer = labels.get("layer", "")
    if layer and layer not in Layer.values:
        yield (
            LintCheck.LAYER,
            label_line("layer"),
            f"Layer `{layer}` is unknown; use one of {', '.join(Layer.values)}.",
        )
    elif not layer and (catalogued is None or not catalogued.layer):
        yield (
            LintCheck.LAYER,
            rule.line_of("labels"),
            f"Add a `layer` label ({', '.join(Layer.values)}) or set the layer in the catalog.",
        )
    if not annotations.get("summary", "").strip():
        yield (
            LintCheck.SUMMARY,
            rule.line_of("annotations"),
            "Add a `summary` annotation: one sentence that says what is wrong.",
        )
    yield from _check_runbook(entry, catalog, note_line("runbook_url"))
    if severity in PAGING and (entry.for_duration or timedelta(0)) < PAGE_MIN_FOR:
        now = f"{int(entry.for_duration.total_seconds())}s" if entry.for_duration else "not set"
        yield (
            LintCheck.FOR,
            rule.line_of("for"),
            f"A `{severity}` alert must hold for 2 minutes or more before it pages: "
            f"set `for: 2m` or longer (now {now}).",
        )


def _check_runbook(
    entry: AlertEntry, catalog: _Catalog, line: int
) -> Iterable[tuple[str, int, str]]:
    url = entry.annotations.get("runbook_url", "").strip()
    expected = f"{settings.STEWARD_BASE_URL}/runbooks/for/{entry.alert}/"
    if not url:
        yield (LintCheck.RUNBOOK, line, f"Add a `runbook_url` annotation, e.g. {expected}")
        return
    target = _runbook_target(url)
    if target is None:
        yield (
            LintCheck.RUNBOOK,
            line,
            f"runbook_url {url} is not a Steward runbook; use {expected} "
            f"or {settings.STEWARD_BASE_URL}/runbooks/<slug>/.",
        )
        return
    kind, value, query = target
    if kind == "slug" and value not in catalog.runbook_slugs:
        yield (
            LintCheck.RUNBOOK,
            line,
            f"No runbook with slug `{value}` exists in Steward; write it first or fix the URL.",
        )
    if kind == "for":
        resolved = catalog.resolve(value, {**entry.labels, **query})
        if resolved is None or resolved.runbook_id is None:
            yield (
                LintCheck.RUNBOOK,
                line,
                f"{value} has no runbook in the Steward catalog: register the rule and "
                "link a runbook to it.",
            )


def _apply_waivers(report: LintReport, catalog: _Catalog) -> None:
    """Step 4."""
    now = timezone.now()
    for violation in report.violations:
        waivers = catalog.waivers.get((violation.alert, violation.check), [])
        active = [w for w in waivers if w.is_active(now=now)]
        if active:
            waiver = max(active, key=lambda w: w.expires_at)
            violation.status = Status.WAIVED
            violation.waiver = {
                "id": waiver.pk,
                "reason": waiver.reason,
                "approver": waiver.approver.username if waiver.approver else None,
                "expires_at": waiver.expires_at.isoformat(),
            }
        elif waivers:
            expired = max(w.expires_at for w in waivers)
            violation.message += f" (its waiver expired on {expired:%Y-%m-%d})"


def lint_rule_files(
    files: Sequence[tuple[str, str]],
    *,
    forecast: bool = False,
    forecast_window: timedelta = timedelta(days=7),
    forecast_step: int | None = None,
) -> LintReport:
    """Lint (file name, YAML text) pairs; see the module docstring for the steps."""
    report = LintReport()
    collector = _Collector(report)
    for name, text in files:
        collector.collect(name, text)
    catalog = _Catalog.load(collector.entries)
    for entry in collector.entries:
        for check, line, message in _check_alert(entry, catalog):
            report.violations.append(
                Violation(entry.file, line, entry.group, entry.alert, check, message)
            )
    if forecast:
        from alerts.lint_forecast import forecast_entries

        forecast_entries(report, collector.entries, window=forecast_window, step=forecast_step)
    _apply_waivers(report, catalog)
    report.violations.sort(key=lambda v: (v.file, v.line, v.check))
    return report
