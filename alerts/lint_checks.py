"""Steps 2 and 3 of the lint gate: load the catalog once, check each alert against it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings

from alerts.lint_types import PAGE_MIN_FOR, PAGING, AlertEntry
from alerts.lint_yaml import LineDict
from alerts.models import AlertRule, Layer, LintCheck, Severity, Waiver
from alerts.selectors import rule_resolve, rules_by_alertname
from fleet.models import Team
from runbooks.models import Runbook


@dataclass
class Catalog:
    """Step 2: everything the checks look up, loaded once."""

    team_slugs: set[str]
    rules: dict[str, list[AlertRule]]
    runbook_slugs: set[str]
    waivers: dict[tuple[str, str], list[Waiver]]

    @classmethod
    def load(cls, entries: Sequence[AlertEntry]) -> Catalog:
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


def check_alert(entry: AlertEntry, catalog: Catalog) -> Iterable[tuple[str, int, str]]:
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
    entry: AlertEntry, catalog: Catalog, line: int
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
