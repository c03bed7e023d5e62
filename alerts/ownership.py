""" "Who owns this alert?": resolve alertname + labels to rule, team, leads, system, runbook.

Any number of alerts costs at most two queries: all candidate rules (with team, system and
runbook joined) and all memberships of the teams found. What they return is cached per
alertname (alerts.ownership_cache), so a router asking again costs no query. Routers and CI
gates call this in bulk.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from alerts.models import AlertRule
from alerts.ownership_cache import OWNERSHIP_CACHE_SECONDS, ownership_cache_version, sha1_hex
from alerts.selectors import rule_resolve, rules_by_alertname
from fleet.models import Membership

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertQuery:
    alertname: str
    labels: Mapping[str, str]


def oncall_runbook_url(alertname: str, labels: Mapping[str, str]) -> str:
    """The on-call entry point `/runbooks/for/<alertname>/?<labels>` (README "The on-call page")."""
    base = f"{settings.STEWARD_BASE_URL}/runbooks/for/{quote(alertname, safe='')}/"
    query = {name: labels[name] for name in sorted(labels) if name != "alertname"}
    return f"{base}?{urlencode(query)}" if query else base


def _status(rule: AlertRule | None, members: int) -> str:
    if rule is None or not rule.catalogued:
        return "uncatalogued"
    return "owned" if rule.owner_team_id is not None and members > 0 else "unowned"


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
    team_ids = {rule.owner_team_id for rules in candidates.values() for rule in rules}
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
        teams = {rule.owner_team_id for rule in rules if rule.owner_team_id is not None}
        snapshots[name] = _Snapshot(
            rules=rules,
            members={t: members[t] for t in teams if t in members},
            leads={t: leads[t] for t in teams if t in leads},
        )
    return snapshots


def _snapshots(names: set[str]) -> dict[str, _Snapshot]:
    """Cached per alertname; any catalog change bumps the version (alerts.ownership_cache)."""
    try:
        version = ownership_cache_version()
        keys = {f"steward:ownership:{version}:{sha1_hex(name)}": name for name in names}
        found = cache.get_many(list(keys))
    except Exception:  # noqa: BLE001 (a cache outage must not stop ownership answers)
        logger.warning("Ownership cache unavailable; reading the database", exc_info=True)
        return _load(names)
    snapshots = {keys[key]: value for key, value in found.items()}
    missing = names - snapshots.keys()
    if missing:
        loaded = _load(missing)
        try:
            cache.set_many(
                {key: loaded[name] for key, name in keys.items() if name in loaded},
                timeout=OWNERSHIP_CACHE_SECONDS,
            )
        except Exception:  # noqa: BLE001
            logger.warning("Ownership cache unavailable for writing", exc_info=True)
        snapshots.update(loaded)
    return snapshots


def ownership_resolve_many(alerts: Sequence[AlertQuery]) -> list[dict[str, Any]]:
    """One ownership answer per alert, in order; at most two queries whatever the number."""
    snapshots = _snapshots({alert.alertname for alert in alerts})
    now = timezone.now()
    results = []
    for alert in alerts:
        snapshot = snapshots[alert.alertname]
        rule = rule_resolve(snapshot.rules, alert.labels)
        team_key = (rule.owner_team_id if rule is not None else None) or 0
        results.append(
            _answer(
                alert,
                rule,
                snapshot.members.get(team_key, 0),
                snapshot.leads.get(team_key, []),
                now,
            )
        )
    return results


def _answer(
    alert: AlertQuery,
    rule: AlertRule | None,
    members: int,
    leads: list[dict[str, str]],
    now: Any,
) -> dict[str, Any]:
    team = rule.owner_team if rule is not None else None
    system = rule.system if rule is not None else None
    runbook = rule.runbook if rule is not None else None
    return {
        "alertname": alert.alertname,
        "labels": dict(alert.labels),
        "status": _status(rule, members),
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
