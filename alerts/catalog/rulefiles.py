"""Map Prometheus alert rules into the catalog.

One mapping serves two shapes of the same data:

- rule files (`groups[].rules[]` with `alert`, `expr`, `for`, `labels`, `annotations`), read by
  `manage.py import_rules`;
- Prometheus's `/api/v1/rules` JSON (`groups[].rules[]` with `type`, `name`, `query`,
  `duration` in seconds), read by `manage.py sync_prometheus`.

The import never clears what the source does not say: an unknown team leaves the owner that an
admin may have set, a rule without `runbook_url` keeps its runbook. Re-importing the same source
changes nothing.

Ownership is claimed, not taken (alerts.catalog.capture): a rule that would take alerts another
team's rule catches today (more matchers, or a team label moving an existing rule) is refused
and reported, unless the import runs for that team (`--team`) or with `--allow-takeover`. Rules
created earlier in the same import do not count as "today's".
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from alerts.catalog.capture import capture_refusal, rule_capture_conflicts
from alerts.catalog.ownership import runbook_url_annotation
from alerts.models import AlertRule, RuleFileText, matchers_key
from alerts.signals import rule_files_imported
from core.choices import Layer, Severity, Source
from core.durations import duration_parse
from fleet.models import AISystem, Team
from runbooks.models import Runbook

# Labels that name an AI system; they become equality matchers so that one alertname can serve
# several systems.
SYSTEM_LABELS = ("model", "system")

ALERTNAME_MAX = AlertRule._meta.get_field("alertname").max_length or 200
SOURCE_FILE_MAX = AlertRule._meta.get_field("source_file").max_length or 500
SOURCE_GROUP_MAX = AlertRule._meta.get_field("source_group").max_length or 200
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_RUNBOOK_PATH = re.compile(r"^/runbooks/(?:(?P<for>for)/)?(?P<name>[^/]+)/?$")


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # (where, message): a rule or a field of a rule that could not be mapped.
    unmapped: list[tuple[str, str]] = field(default_factory=list)
    # (where, message): a rule not written: it would take another team's alerts, or the
    # model's validation refuses it.
    refused: list[tuple[str, str]] = field(default_factory=list)
    recording_skipped: int = 0
    # (where, annotation): the exact runbook_url to paste for each imported rule.
    runbook_urls: list[tuple[str, str]] = field(default_factory=list)

    def merge(self, other: ImportReport) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.unmapped += other.unmapped
        self.refused += other.refused
        self.recording_skipped += other.recording_skipped
        self.runbook_urls += other.runbook_urls


def parse_duration(value: object) -> timedelta | None:
    """A rule's `for`: a Prometheus duration in a file ("5m"), seconds as a number from the
    rules API, or None when absent or zero. Raises DurationError (a ValueError) otherwise."""
    if value in (None, "", 0):
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    return duration_parse(str(value))


def rule_source_path(name: str) -> str:
    """How a rule file is remembered: relative to STEWARD_RULES_ROOT when it lies under it (the
    root of the repository holding the rule files, so a review's patch applies there with
    `git apply`), else the path as given."""
    root = settings.STEWARD_RULES_ROOT
    if root:
        path = Path(name)
        absolute = path if path.is_absolute() else Path.cwd() / path
        try:
            return absolute.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return name


@dataclass(frozen=True)
class TakeoverConsent:
    """Whose alerts an import may take (alerts.catalog.capture): those of the team it runs
    for, or anybody's with `allow_takeover` (an admin who checked the source)."""

    team: Team | None = None
    allow_takeover: bool = False

    def may_act_for(self, team_id: int) -> bool:
        return self.allow_takeover or (self.team is not None and self.team.pk == team_id)


class _Lookups:
    """Teams, systems and runbooks loaded once per import, not once per rule."""

    def __init__(self, consent: TakeoverConsent) -> None:
        self.consent = consent
        # Rules this import created: not "today's" rules for the capture check.
        self.created: set[int] = set()
        self.teams = {t.slug: t for t in Team.objects.all()}
        self.systems = {s.slug: s for s in AISystem.objects.all()}
        self.runbooks = {r.slug: r for r in Runbook.objects.all()}
        # alertname → a runbook some rule of that name already links (for /runbooks/for/…).
        self.runbook_by_alertname = {
            name: self.runbooks[slug]
            for name, slug in AlertRule.objects.filter(runbook__isnull=False)
            .order_by("pk")
            .values_list("alertname", "runbook__slug")
            if slug in self.runbooks
        }


def _runbook_for(url: str, alertname: str, rule: AlertRule | None, lookups: _Lookups) -> Any:
    """The Steward runbook a runbook_url points at, or an error message."""
    base = urlsplit(settings.STEWARD_BASE_URL)
    parts = urlsplit(url)
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
        return f"runbook_url {url} is not on Steward ({settings.STEWARD_BASE_URL})"
    prefix = base.path.rstrip("/")
    if not parts.path.startswith(prefix + "/"):
        return f"runbook_url {url} is not on Steward ({settings.STEWARD_BASE_URL})"
    path = parts.path[len(prefix) :]
    match = _RUNBOOK_PATH.match(path)
    if match is None:
        return f"runbook_url {url} is not a /runbooks/<slug>/ or /runbooks/for/<alert>/ link"
    if match["for"]:
        # The on-call entry point resolves the runbook through the rule itself: keep the one
        # linked, else the one a rule of the same name links, else one named after the alert.
        if rule is not None and rule.runbook is not None:
            return rule.runbook
        kebab = _CAMEL_BOUNDARY.sub("-", alertname).replace("_", "-").lower()
        found = (
            lookups.runbook_by_alertname.get(alertname)
            or lookups.runbooks.get(kebab)
            or lookups.runbooks.get(alertname.lower())
        )
        return found or f"runbook_url {url}: no runbook is linked to {alertname} yet"
    found = lookups.runbooks.get(match["name"])
    return found or f"runbook_url {url}: there is no runbook {match['name']!r}"


def _normalise(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """One rule in either shape; None for recording rules."""
    if raw.get("type") == "recording" or "record" in raw:
        return None
    return {
        "alertname": raw.get("alert") or raw.get("name"),
        "expr": raw.get("expr", raw.get("query", "")),
        "for": raw.get("for", raw.get("duration")),
        "keep_firing_for": raw.get("keep_firing_for", raw.get("keepFiringFor")),
        "labels": raw.get("labels") or {},
        "annotations": raw.get("annotations") or {},
    }


def _shape_problem(data: dict[str, Any]) -> str | None:
    """Why a rule cannot be imported at all, or None."""
    name = data["alertname"]
    if not isinstance(name, str) or not name:
        return "no alert name"
    if len(name) > ALERTNAME_MAX:
        return f"alert name longer than {ALERTNAME_MAX} characters"
    for part in ("labels", "annotations"):
        if not isinstance(data[part], Mapping):
            return f"{part} must be a mapping of names to values"
    return None


def _map_rule(
    rule_data: dict[str, Any], where: str, lookups: _Lookups, report: ImportReport
) -> dict[str, Any]:
    """The catalog fields for one rule; problems go to the report."""
    name = rule_data["alertname"]
    labels = {str(k): str(v) for k, v in dict(rule_data["labels"]).items()}
    annotations = {str(k): str(v) for k, v in dict(rule_data["annotations"]).items()}
    matchers = {k: labels[k] for k in SYSTEM_LABELS if k in labels}
    where = f"{where}: {name}" + (f"{{{matchers_key(matchers)}}}" if matchers else "")
    fields: dict[str, Any] = {
        "expression": str(rule_data["expr"] or ""),
        "labels": labels,
        "summary": annotations.get("summary", "")[:500],
        "source": Source.PROMETHEUS,
        "catalogued": True,
    }
    try:
        fields["for_duration"] = parse_duration(rule_data["for"])
    except ValueError as exc:
        report.unmapped.append((where, f"for: {exc}"))
    try:
        fields["keep_firing_for"] = parse_duration(rule_data["keep_firing_for"])
    except ValueError as exc:
        report.unmapped.append((where, f"keep_firing_for: {exc}"))
    team = labels.get("team")
    if team is None:
        report.unmapped.append((where, "no team label: the rule stays without owner"))
    elif team in lookups.teams:
        fields["owner_team"] = lookups.teams[team]
    else:
        report.unmapped.append((where, f"team {team!r} is not a Steward team"))
    for label, choices in (("severity", Severity), ("layer", Layer)):
        value = labels.get(label)
        if value in choices.values:
            fields[label] = value
        elif value is None:
            report.unmapped.append((where, f"no {label} label"))
        else:
            allowed = ", ".join(choices.values)
            report.unmapped.append((where, f"{label} {value!r} is not one of {allowed}"))
    system_slug = next(iter(matchers.values()), None)
    if system_slug is not None:
        if system_slug in lookups.systems:
            fields["system"] = lookups.systems[system_slug]
        else:
            report.unmapped.append((where, f"system {system_slug!r} is not in the fleet"))
    fields["_where"] = where
    fields["_matchers"] = matchers
    fields["_runbook_url"] = annotations.get("runbook_url", "")
    return fields


def _store(name: str, fields: dict[str, Any], lookups: _Lookups, report: ImportReport) -> None:
    where = fields.pop("_where")
    matchers = fields.pop("_matchers")
    runbook_url = fields.pop("_runbook_url")
    report.runbook_urls.append((where, runbook_url_annotation(name, matchers)))
    rule = (
        AlertRule.objects.select_related("runbook")
        .filter(alertname=name, matchers_key=matchers_key(matchers))
        .first()
    )
    if runbook_url:
        found = _runbook_for(runbook_url, name, rule, lookups)
        if isinstance(found, Runbook):
            fields["runbook"] = found
        else:
            report.unmapped.append((where, found))
    if rule is None:
        created = AlertRule(alertname=name, matchers=matchers, **fields)
        if _refused(created, None, where, lookups, report):
            return
        created.save()
        lookups.created.add(created.pk)
        report.created.append(where)
        return
    changed = [k for k, v in fields.items() if getattr(rule, k) != v]
    if not changed:
        report.unchanged.append(where)
        return
    updated = copy.copy(rule)
    for key in changed:
        setattr(updated, key, fields[key])
    if _refused(updated, rule, where, lookups, report, only=changed):
        return
    updated.save(update_fields=[*changed, "updated_at"])
    report.updated.append(where)


def _refused(
    rule: AlertRule,
    before: AlertRule | None,
    where: str,
    lookups: _Lookups,
    report: ImportReport,
    only: list[str] | None = None,
) -> bool:
    """Report and skip a rule the model's validation refuses, or that takes another team's
    alerts without consent. An update validates the fields it writes (a rule an admin muted
    until a date now past must still take a new expression)."""
    try:
        if only is None:
            rule.full_clean()
        else:
            rule.clean_fields(
                exclude=[f.name for f in AlertRule._meta.fields if f.name not in only]
            )
    except ValidationError as error:
        report.refused.append((where, "; ".join(error.messages)))
        return True
    conflicts = rule_capture_conflicts(rule, before=before, ignore=lookups.created)
    refusal = capture_refusal(rule, conflicts, may_act_for=lookups.consent.may_act_for)
    if refusal is None:
        return False
    consent = lookups.consent
    teams = sorted({c.team_slug for c in conflicts if not consent.may_act_for(c.team_id)})
    fix = f"import as that team (--team {teams[0]}) or " if len(teams) == 1 else ""
    report.refused.append((where, f"{refusal} To allow it, {fix}pass --allow-takeover."))
    return True


@transaction.atomic
def rule_file_text_keep(path: str, text: str) -> None:
    """Keep the text of a rule file as imported, so the review's patch applies to it."""
    RuleFileText.objects.update_or_create(
        path=path,
        defaults={
            "text": text,
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "imported_at": timezone.now(),
        },
    )


def rules_import(
    *,
    groups: Iterable[Any],
    origin: str,
    consent: TakeoverConsent | None = None,
    source_file: str | None = None,
    text: str | None = None,
) -> ImportReport:
    """Create or update catalog rules from Prometheus rule groups.

    1. Normalise each rule (file or API shape); recording rules are counted and skipped.
    2. Map labels and annotations to catalog fields, reporting what cannot be mapped.
    3. Refuse (and report) a rule the model's validation refuses or that would take another
       team's alerts without `consent`.
    4. Create the rule, or update only the fields that differ (re-import changes nothing).

    Each rule remembers its file (`source_file` for a rule file; each group's `file` from the
    rules API) and group. With `text`, the file's text is kept (RuleFileText) so the review's
    patch applies to it. After the import, `rule_files_imported` tells the review which rules
    arrived from which files (a prune carried out, a tune seen).
    """
    report = ImportReport()
    lookups = _Lookups(consent or TakeoverConsent())
    seen: set[tuple[str, str]] = set()
    # file → (alertname, matchers_key) of every alert rule that arrived from it.
    arrived: dict[str, set[tuple[str, str]]] = {}
    file_path = rule_source_path(source_file) if source_file else None
    if file_path is not None:
        arrived[file_path] = set()
        if text is not None:
            rule_file_text_keep(file_path, text)
    for g_index, group in enumerate(groups):
        if not isinstance(group, Mapping) or not isinstance(group.get("rules"), list):
            report.unmapped.append((f"{origin}: group {g_index + 1}", "a group needs a rules list"))
            continue
        group_name = group.get("name") or f"group {g_index + 1}"
        group_file = file_path
        if group_file is None and isinstance(group.get("file"), str) and group["file"]:
            group_file = rule_source_path(group["file"])
        if group_file is not None:
            arrived.setdefault(group_file, set())
        for r_index, raw in enumerate(group["rules"]):
            where = f"{origin}: {group_name}"
            if not isinstance(raw, Mapping):
                report.unmapped.append((f"{where} rule {r_index + 1}", "a rule must be a mapping"))
                continue
            data = _normalise(raw)
            if data is None:
                report.recording_skipped += 1
                continue
            problem = _shape_problem(data)
            if problem:
                report.unmapped.append((f"{where} rule {r_index + 1}", problem))
                continue
            fields = _map_rule(data, where, lookups, report)
            if group_file is not None:
                fields["source_file"] = group_file[:SOURCE_FILE_MAX]
                fields["source_group"] = str(group_name)[:SOURCE_GROUP_MAX]
            key = (data["alertname"], matchers_key(fields["_matchers"]))
            if group_file is not None:
                arrived[group_file].add(key)
            if key in seen:
                report.unmapped.append(
                    (fields["_where"], "defined twice with the same matchers; first one kept")
                )
                continue
            seen.add(key)
            _store(data["alertname"], fields, lookups, report)
    if arrived:
        rule_files_imported.send(sender=AlertRule, arrived=arrived, origin=origin)
    return report
