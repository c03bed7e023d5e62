"""Steps 2 and 3 of the lint gate: load the catalog once, check each alert against it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, unquote, urlsplit

from django.conf import settings

from alerts.catalog.ownership import runbook_url_annotation
from alerts.lint.types import PAGE_MIN_FOR, PAGING, AlertEntry
from alerts.lint.yamlfile import LineDict
from alerts.models import AlertRule, LintCheck, Waiver
from alerts.selectors import rule_resolution, rule_resolve, rules_by_alertname
from core.choices import Layer, Severity
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
        templated = _templated_labels(url)
        yield from _check_static_templated(entry, value, query, templated, line)
        yield from _check_landing(entry, catalog, value, {**entry.labels, **query}, templated, line)


_TEMPLATED_LABEL = re.compile(r"\$labels\.([A-Za-z_][A-Za-z0-9_]*)")


def _templated_labels(url: str) -> dict[str, str]:
    """Query parameter → the `$labels.<name>` its value templates (`?model={{ $labels.model }}`)."""
    found = {}
    for name, raw in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        match = _TEMPLATED_LABEL.search(raw) if "{{" in raw else None
        if match is not None:
            found[name] = match.group(1)
    return found


def _check_static_templated(
    entry: AlertEntry, alertname: str, query: dict[str, str], templated: dict[str, str], line: int
) -> Iterable[tuple[str, int, str]]:
    """A static label templated in the runbook_url expands empty: say so, and what to paste."""
    static = {
        param: entry.labels[label] for param, label in templated.items() if label in entry.labels
    }
    if not static:
        return
    names = ", ".join(f"`{label}`" for param, label in templated.items() if param in static)
    fixed = runbook_url_annotation(
        alertname, {**query, **static}, [param for param in templated if param not in static]
    )
    yield (
        LintCheck.RUNBOOK,
        line,
        f"runbook_url templates {names} with `$labels`, but this rule sets "
        f"{'it' if len(static) == 1 else 'them'} statically in `labels:`; in Prometheus "
        "`$labels` holds only the series' labels (from `expr`), so "
        + " and ".join(f"`{param}=`" for param in static)
        + " would arrive empty. Write static labels literally and template only labels the "
        f"expression produces: {fixed}",
    )


def _check_landing(
    entry: AlertEntry,
    catalog: Catalog,
    alertname: str,
    labels: dict[str, str],
    templated: dict[str, str],
    line: int,
) -> Iterable[tuple[str, int, str]]:
    """The on-call page this link opens (alerts.selectors.rule_resolution) has a runbook.

    Templated labels are known only at firing time, so every rule they may still select
    must have a runbook, and they must be able to tell those rules apart.
    """
    resolution = rule_resolution(catalog.rules.get(alertname, ()), labels)
    landing = [resolution.rule] if resolution.rule is not None else resolution.candidates
    if not landing:
        yield (
            LintCheck.RUNBOOK,
            line,
            f"{alertname} has no runbook in the Steward catalog: register the rule and "
            "link a runbook to it.",
        )
        return
    if resolution.ambiguous:
        apart = {name for rule in landing for name in rule.matchers} - labels.keys()
        if not apart & set(templated):
            yield (
                LintCheck.RUNBOOK,
                line,
                f"runbook_url does not tell apart the {len(landing)} rules named {alertname} "
                f"it may open ({', '.join(str(rule) for rule in landing)}): add "
                + ", ".join(f"`{name}`" for name in sorted(apart))
                + " (literally if this rule sets it, else templated).",
            )
    for rule in landing:
        if rule.runbook_id is None:
            yield (
                LintCheck.RUNBOOK,
                line,
                f"{rule} has no runbook in the Steward catalog: link a runbook to it.",
            )
