"""Import teams and AI systems from Backstage catalog descriptors (`catalog-info.yaml`).

1. Every file may hold several YAML documents; each document is one entity.
2. `Group` entities become teams first, so that components in any file can name them.
3. `Component`, `Resource` and `System` entities become AI systems owned by the team of their
   `spec.owner`; an owner Steward does not know skips the entity with a reason.
4. Other kinds (API, User, Domain, Location, Template…) are ignored and counted.

Only fields present in the descriptor are written, and a row is saved only when a value
changed, so re-importing the same files changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from fleet.models import AISystem, Team

SYSTEM_KINDS = frozenset({"Component", "Resource", "System"})
# Backstage `spec.type` → Steward kind; anything else is a service.
KIND_BY_TYPE = {
    "model": AISystem.Kind.MODEL,
    "ml-model": AISystem.Kind.MODEL,
    "machine-learning-model": AISystem.Kind.MODEL,
    "llm": AISystem.Kind.MODEL,
    "agent": AISystem.Kind.AGENT,
    "ai-agent": AISystem.Kind.AGENT,
    "llm-agent": AISystem.Kind.AGENT,
    "pipeline": AISystem.Kind.PIPELINE,
    "data-pipeline": AISystem.Kind.PIPELINE,
    "ml-pipeline": AISystem.Kind.PIPELINE,
    "etl": AISystem.Kind.PIPELINE,
}
LIFECYCLE = {
    "production": AISystem.Lifecycle.ACTIVE,
    "experimental": AISystem.Lifecycle.ACTIVE,
    "deprecated": AISystem.Lifecycle.DEPRECATED,
}


class BackstageError(ValueError):
    """A file that cannot be read as Backstage YAML at all."""


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)


def backstage_documents(named_texts: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Parse multi-document YAML; a document that is not a mapping is a clear error."""
    documents: list[dict[str, Any]] = []
    for name, text in named_texts:
        try:
            loaded = [doc for doc in yaml.safe_load_all(text) if doc is not None]
        except yaml.YAMLError as error:
            raise BackstageError(f"{name}: not valid YAML ({error}).") from error
        for position, doc in enumerate(loaded, start=1):
            if not isinstance(doc, dict):
                raise BackstageError(f"{name}: document {position} is not a mapping.")
            documents.append(doc)
    return documents


def _metadata(doc: dict[str, Any]) -> dict[str, Any]:
    metadata = doc.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec = doc.get("spec")
    return spec if isinstance(spec, dict) else {}


def _owner_slug(owner: object) -> tuple[str | None, str]:
    """`group:default/fraud-ml`, `group:fraud-ml` or `fraud-ml` → ("fraud-ml", "")."""
    if not isinstance(owner, str) or not owner.strip():
        return None, "it has no spec.owner"
    kind, _, ref = owner.strip().rpartition(":")
    if kind and kind.lower() != "group":
        return None, f"its owner {owner!r} is a {kind}, not a group"
    return slugify(ref.rpartition("/")[2]), ""


def _links(metadata: dict[str, Any], annotations: dict[str, Any]) -> dict[str, str]:
    values: dict[str, str] = {}
    for link in metadata.get("links") or []:
        if not isinstance(link, dict) or not isinstance(link.get("url"), str):
            continue
        words = " ".join(str(link.get(k, "")) for k in ("type", "title", "icon")).lower()
        if "dashboard" in words or "grafana" in words:
            # Steward reads braces as placeholders: keep a literal brace literal.
            values.setdefault("dashboard_url", link["url"].replace("{", "{{").replace("}", "}}"))
        elif "registry" in words or "mlflow" in words:
            values.setdefault("model_registry_url", link["url"])
        elif "repo" in words or "source" in words:
            values.setdefault("repository_url", link["url"])
    if slug := annotations.get("github.com/project-slug"):
        values.setdefault("repository_url", f"https://github.com/{slug}")
    location = str(annotations.get("backstage.io/source-location", ""))
    if location.startswith("url:"):
        values.setdefault("repository_url", location.removeprefix("url:"))
    return values


def _team_values(doc: dict[str, Any]) -> dict[str, Any]:
    metadata = _metadata(doc)
    profile = _spec(doc).get("profile") or {}
    annotations = metadata.get("annotations") or {}
    values: dict[str, Any] = {}
    name = profile.get("displayName") or metadata.get("title")
    values["name"] = str(name or metadata.get("name"))
    if profile.get("email"):
        values["email"] = str(profile["email"])
    if channel := annotations.get("slack.com/channel"):
        values["chat_channel"] = channel if str(channel).startswith("#") else f"#{channel}"
    return values


def _system_values(doc: dict[str, Any], team: Team) -> dict[str, Any]:
    metadata, spec = _metadata(doc), _spec(doc)
    values: dict[str, Any] = {
        "name": str(metadata.get("title") or metadata.get("name")),
        "owner_team": team,
        "kind": KIND_BY_TYPE.get(str(spec.get("type", "")).lower(), AISystem.Kind.SERVICE),
    }
    if metadata.get("description"):
        values["description"] = str(metadata["description"])
    if lifecycle := LIFECYCLE.get(str(spec.get("lifecycle", "")).lower()):
        values["lifecycle"] = lifecycle
    values.update(_links(metadata, metadata.get("annotations") or {}))
    return values


def _upsert(
    model: type[Team] | type[AISystem],
    existing: dict[str, Any],
    slug: str,
    values: dict[str, Any],
    label: str,
    report: ImportReport,
) -> Any:
    instance = existing.get(slug) or model(slug=slug)
    changed = [name for name, value in values.items() if getattr(instance, name) != value]
    if instance.pk and not changed:
        report.unchanged.append(label)
        return instance
    for name in changed:
        setattr(instance, name, values[name])
    try:
        instance.full_clean()
    except ValidationError as error:
        report.skipped.append((label, "; ".join(error.messages)))
        return existing.get(slug)
    (report.updated if instance.pk else report.created).append(label)
    instance.save()
    existing[slug] = instance
    return instance


@transaction.atomic
def backstage_import(*, documents: list[dict[str, Any]]) -> ImportReport:
    report = ImportReport()
    groups = [d for d in documents if d.get("kind") == "Group"]
    entities = [d for d in documents if d.get("kind") in SYSTEM_KINDS]
    for doc in documents:
        if doc.get("kind") != "Group" and doc.get("kind") not in SYSTEM_KINDS:
            report.ignored[str(doc.get("kind") or "no kind")] += 1
    teams = {team.slug: team for team in Team.objects.all()}
    for doc in groups:
        slug = slugify(str(_metadata(doc).get("name") or ""))
        if not slug:
            report.skipped.append(("Group without a name", "metadata.name is missing"))
            continue
        _upsert(Team, teams, slug, _team_values(doc), f"team {slug}", report)
    slugs = [slugify(str(_metadata(d).get("name") or "")) for d in entities]
    systems = {s.slug: s for s in AISystem.objects.filter(slug__in=slugs)}
    seen: set[str] = set()
    for doc, slug in zip(entities, slugs, strict=True):
        label = f"{doc['kind'].lower()} {slug or '(no name)'}"
        owner, why = _owner_slug(_spec(doc).get("owner"))
        if not slug:
            report.skipped.append((label, "metadata.name is missing"))
        elif slug in seen:
            report.skipped.append((label, "another entity in this import has the same name"))
        elif owner is None:
            report.skipped.append((label, why))
        elif owner not in teams:
            report.skipped.append((label, f"unknown owner group {owner!r}"))
        else:
            seen.add(slug)
            _upsert(AISystem, systems, slug, _system_values(doc, teams[owner]), label, report)
    return report
