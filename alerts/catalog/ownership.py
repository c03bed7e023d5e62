""" "Who owns this alert?": the one definition, and the lookup behind the API and on-call page.

Owner: the rule's owner team, else the owner team of the rule's system (a rule on a system
is that system's team's business unless someone else took it). Owned: that team exists and
has at least one member; a team nobody is in cannot answer a page. `rule_owner_team` says it
in Python, `owner_team_id_expression`/`owned_condition` say it in SQL (also as
`AlertRule.objects.owned()`/`.unowned()`), and the overview, the ownership API, the flags, the
review numbers and the scorecards all use these, so they cannot disagree.

Any number of alerts costs at most two queries: all candidate rules (with team, system and
runbook joined) and all memberships of the teams found. What they return is cached per
alertname (alerts.catalog.ownership_cache), so a router asking again costs no query. Routers and CI
gates call this in bulk.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from alerts.catalog.ownership_cache import (
    OWNERSHIP_CACHE_SECONDS,
    ownership_cache_version,
    sha1_hex,
)
from alerts.models import AlertRule, Episode
from alerts.selectors import (
    RuleResolution,
    query_labels,
    rule_resolution,
    rules_by_alertname,
)
from core.outages import CACHE_OUTAGE
from fleet.models import Membership, Team

logger = logging.getLogger(__name__)


def rule_owner_team_id(rule: AlertRule) -> int | None:
    """The owner team's id: the rule's own team, else its system's (see the module doc)."""
    if rule.owner_team_id is not None:
        return rule.owner_team_id
    system = rule.system if rule.system_id is not None else None
    return system.owner_team_id if system is not None else None


def rule_owner_team(rule: AlertRule) -> Team | None:
    """The team that owns this rule (load it with `system__owner_team` to avoid queries)."""
    if rule.owner_team_id is not None:
        return rule.owner_team
    system = rule.system if rule.system_id is not None else None
    return system.owner_team if system is not None else None


def is_owned(team_id: int | None, members: int) -> bool:
    """Owned: an owner team exists and has at least one member."""
    return team_id is not None and members > 0


def owner_team_id_expression(prefix: str = "") -> Coalesce:
    """SQL for `rule_owner_team_id`; `prefix` reaches the rule through a relation ("rule__")."""
    return Coalesce(F(f"{prefix}owner_team_id"), F(f"{prefix}system__owner_team_id"))


def owned_condition(prefix: str = "") -> Q:
    """SQL for "owned": the owner team (rule's, else system's) has at least one member."""
    own_team = Membership.objects.filter(team_id=OuterRef(f"{prefix}owner_team_id"))
    system_team = Membership.objects.filter(team_id=OuterRef(f"{prefix}system__owner_team_id"))
    return Q(Exists(own_team)) | (
        Q(**{f"{prefix}owner_team__isnull": True}) & Q(Exists(system_team))
    )


@dataclass(frozen=True)
class AlertQuery:
    alertname: str
    labels: Mapping[str, str]


def oncall_path(alertname: str, labels: Mapping[str, str]) -> str:
    """The on-call entry point `/runbooks/for/<alertname>/?<labels>`, as a path for Steward's
    own pages (empty label values are left out: they mean "absent")."""
    base = f"/runbooks/for/{quote(alertname, safe='')}/"
    given = query_labels(labels)
    query = {name: given[name] for name in sorted(given) if name != "alertname"}
    return f"{base}?{urlencode(query)}" if query else base


def oncall_runbook_url(alertname: str, labels: Mapping[str, str]) -> str:
    """`oncall_path` as an absolute URL, for Alertmanager annotations and API answers."""
    return f"{settings.STEWARD_BASE_URL}{oncall_path(alertname, labels)}"


def runbook_url_annotation(
    alertname: str, static: Mapping[str, str], templated: Iterable[str] = ()
) -> str:
    """The exact `runbook_url` annotation to paste into a Prometheus rule.

    In Prometheus, `$labels` in an annotation holds only the series' labels (from `expr`),
    not the rule's static `labels:`, so a static label must be written literally: templating
    it expands to `?model=`. Only labels the expression produces are templated, through
    `urlquery`. The alertname is written out too (`$labels.alertname` is empty there).
    """
    base = f"{settings.STEWARD_BASE_URL}/runbooks/for/{quote(alertname, safe='')}/"
    given = query_labels(static)
    parts = [f"{quote_plus(name)}={quote_plus(given[name])}" for name in sorted(given)]
    parts += [
        f"{name}={{{{ $labels.{name} | urlquery }}}}"
        for name in sorted(set(templated) - given.keys() - {"alertname"})
    ]
    return f"{base}?{'&'.join(parts)}" if parts else base


def rule_runbook_url_annotation(rule: AlertRule) -> str:
    """`runbook_url_annotation` for a catalog rule: its matchers, literally (every alert of
    this rule carries exactly these values, whether the rule or the series sets them)."""
    return runbook_url_annotation(rule.alertname, rule.matchers)


def _status(resolution: RuleResolution, members: int) -> str:
    rule = resolution.rule
    if resolution.ambiguous:
        return "ambiguous"
    if rule is None or not rule.catalogued:
        return "uncatalogued"
    return "owned" if is_owned(rule_owner_team_id(rule), members) else "unowned"


@dataclass
class _Snapshot:
    """What the answers for one alertname need from the database (cached as one entry)."""

    rules: list[AlertRule]
    members: dict[int, int]
    leads: dict[int, list[dict[str, str]]]


def _load(names: set[str]) -> dict[str, _Snapshot]:
    """Two queries for any number of alertnames."""
    # A name with NUL cannot be in the database (and PostgreSQL refuses to compare it).
    candidates = rules_by_alertname(name for name in names if "\x00" not in name)
    team_ids = {rule_owner_team_id(rule) for rules in candidates.values() for rule in rules}
    team_ids.discard(None)
    members: dict[int, int] = defaultdict(int)
    leads: dict[int, list[dict[str, str]]] = defaultdict(list)
    if team_ids:
        for team_id, role, username, first, last in Membership.objects.filter(
            team_id__in=team_ids
        ).values_list("team_id", "role", "user__username", "user__first_name", "user__last_name"):
            members[team_id] += 1
            if role == Membership.Role.LEAD:
                name = f"{first} {last}".strip() or username
                leads[team_id].append({"username": username, "name": name})
    snapshots = {}
    for name in names:
        rules = candidates.get(name, [])
        teams = {team for rule in rules if (team := rule_owner_team_id(rule)) is not None}
        snapshots[name] = _Snapshot(
            rules=rules,
            members={t: members[t] for t in teams if t in members},
            leads={t: leads[t] for t in teams if t in leads},
        )
    return snapshots


def _snapshots(names: set[str]) -> dict[str, _Snapshot]:
    """Cached per alertname; any catalog change bumps the version (ownership_cache)."""
    try:
        version = ownership_cache_version()
        keys = {f"steward:ownership:{version}:{sha1_hex(name)}": name for name in names}
        found = cache.get_many(list(keys))
    except Exception as error:  # noqa: BLE001 (a cache outage must not stop ownership answers)
        CACHE_OUTAGE.failure(
            logger, "ownership cache unavailable; reading the database", error=error
        )
        return _load(names)
    CACHE_OUTAGE.success(logger)
    snapshots = {keys[key]: value for key, value in found.items()}
    missing = names - snapshots.keys()
    if missing:
        loaded = _load(missing)
        try:
            cache.set_many(
                {key: loaded[name] for key, name in keys.items() if name in loaded},
                timeout=OWNERSHIP_CACHE_SECONDS,
            )
        except Exception as error:  # noqa: BLE001
            CACHE_OUTAGE.failure(logger, "ownership cache unavailable for writing", error=error)
        snapshots.update(loaded)
    return snapshots


def firing_counts(rules: Sequence[AlertRule]) -> dict[int, int]:
    """Open episodes per rule id, in one query (live: never cached)."""
    if not rules:
        return {}
    return dict(
        Episode.objects.filter(rule__in=[rule.pk for rule in rules], ends_at__isnull=True)
        .values("rule_id")
        .annotate(n=Count("id"))
        .values_list("rule_id", "n")
    )


def ownership_resolve_many(alerts: Sequence[AlertQuery]) -> list[dict[str, Any]]:
    """One ownership answer per alert, in order.

    At most two queries whatever the number (none when cached), plus one for "firing now"
    when some answers list candidates (ambiguous, or labels that contradict every rule).
    """
    snapshots = _snapshots({alert.alertname for alert in alerts})
    now = timezone.now()
    resolutions = [
        rule_resolution(snapshots[alert.alertname].rules, alert.labels) for alert in alerts
    ]
    listed = {rule.pk: rule for resolution in resolutions for rule in _candidates_shown(resolution)}
    firing = firing_counts(list(listed.values()))
    results = []
    for alert, resolution in zip(alerts, resolutions, strict=True):
        snapshot = snapshots[alert.alertname]
        rule = resolution.rule
        team_key = (rule_owner_team_id(rule) if rule is not None else None) or 0
        members = snapshot.members.get(team_key, 0)
        answer = _answer(alert, resolution, members, snapshot.leads.get(team_key, []), now)
        answer["candidates"] = [
            _candidate(candidate, snapshot, firing.get(candidate.pk, 0))
            for candidate in _candidates_shown(resolution)
        ]
        results.append(answer)
    return results


def _candidates_shown(resolution: RuleResolution) -> list[AlertRule]:
    """The rules a person picks from: several candidates, or every rule the labels contradict."""
    if resolution.rule is not None:
        return []
    return resolution.candidates if resolution.ambiguous else resolution.known


def _candidate(rule: AlertRule, snapshot: _Snapshot, firing: int) -> dict[str, Any]:
    team = rule_owner_team(rule)
    members = snapshot.members.get(team.pk, 0) if team is not None else 0
    return {
        "id": rule.pk,
        "alertname": rule.alertname,
        "matchers": rule.matchers,
        "severity": rule.severity,
        "team": None if team is None else {"slug": team.slug, "name": team.name},
        "owned": is_owned(team.pk if team is not None else None, members),
        "runbook_slug": rule.runbook.slug if rule.runbook is not None else None,
        "runbook_url": oncall_runbook_url(rule.alertname, rule.matchers),
        "firing": firing,
    }


def _matched_by(resolution: RuleResolution) -> dict[str, Any] | None:
    """Which rule answers and why (`rule_resolution`'s two ways), and where its owner comes
    from: the rule's own team, else its system's (the module doc)."""
    rule = resolution.rule
    if rule is None:
        return None
    others = [candidate.pk for candidate in resolution.candidates if candidate.pk != rule.pk]
    if resolution.reason == "only_candidate":
        explanation = (
            f"The only rule named {rule.alertname} whose matchers the labels do not contradict."
        )
    else:
        listed = ", ".join(f"#{pk}" for pk in others)
        explanation = (
            "The most specific rule whose matchers all hold: its matchers include those of "
            f"every other rule the labels fit ({listed})."
        )
    owner_from = None
    if rule.owner_team_id is not None:
        owner_from = "rule"
    elif rule_owner_team_id(rule) is not None:
        owner_from = "system"
    return {
        "rule": rule.pk,
        "matchers": rule.matchers,
        "reason": resolution.reason,
        "explanation": explanation,
        "outranks": others,
        "owner_from": owner_from,
    }


def _answer(
    alert: AlertQuery,
    resolution: RuleResolution,
    members: int,
    leads: list[dict[str, str]],
    now: Any,
) -> dict[str, Any]:
    rule = resolution.rule
    team = rule_owner_team(rule) if rule is not None else None
    system = rule.system if rule is not None else None
    runbook = rule.runbook if rule is not None else None
    return {
        "alertname": alert.alertname,
        "labels": dict(alert.labels),
        "status": _status(resolution, members),
        "rule": None
        if rule is None
        else {
            "id": rule.pk,
            "alertname": rule.alertname,
            "matchers": rule.matchers,
            "severity": rule.severity,
            "layer": rule.layer,
            "status": rule.status,
        },
        "team": None
        if team is None
        else {
            "slug": team.slug,
            "name": team.name,
            "chat_channel": team.chat_channel,
            "email": team.email,
            "escalation_url": team.escalation_url,
            "timezone": team.timezone,
        },
        "matched_by": _matched_by(resolution),
        "leads": leads,
        "system": None
        if system is None
        else {
            "slug": system.slug,
            "name": system.name,
            "kind": system.kind,
            "environment": system.environment,
            "tier": system.tier,
        },
        "runbook_url": oncall_runbook_url(alert.alertname, alert.labels),
        "runbook_slug": runbook.slug if runbook is not None else None,
        "stale": runbook.is_stale(now=now) if runbook is not None else None,
    }
