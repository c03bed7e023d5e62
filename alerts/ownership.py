""" "Who owns this alert?": resolve alertname + labels to rule, team, leads, system, runbook.

Any number of alerts costs two queries: all candidate rules (with team, system and runbook
joined) and all memberships of the teams found. Routers and CI gates call this in bulk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.utils import timezone

from alerts.models import AlertRule
from alerts.selectors import rule_resolve, rules_by_alertname
from fleet.models import Membership


@dataclass(frozen=True)
class AlertQuery:
    alertname: str
    labels: Mapping[str, str]


def oncall_runbook_url(alertname: str, labels: Mapping[str, str]) -> str:
    """The on-call entry point `/runbooks/for/<alertname>/?<labels>` (DESIGN.md)."""
    base = f"{settings.STEWARD_BASE_URL}/runbooks/for/{quote(alertname, safe='')}/"
    query = {name: labels[name] for name in sorted(labels) if name != "alertname"}
    return f"{base}?{urlencode(query)}" if query else base


def _status(rule: AlertRule | None, members: int) -> str:
    if rule is None or not rule.catalogued:
        return "uncatalogued"
    return "owned" if rule.owner_team_id is not None and members > 0 else "unowned"


def ownership_resolve_many(alerts: Sequence[AlertQuery]) -> list[dict[str, Any]]:
    """One ownership answer per alert, in order; two queries whatever the number of alerts."""
    # A name with NUL cannot be in the database (and PostgreSQL refuses to compare it).
    candidates = rules_by_alertname(a.alertname for a in alerts if "\x00" not in a.alertname)
    resolved = [rule_resolve(candidates.get(a.alertname, ()), a.labels) for a in alerts]
    team_ids = {rule.owner_team_id for rule in resolved if rule and rule.owner_team_id}
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
    now = timezone.now()
    results = []
    for alert, rule in zip(alerts, resolved, strict=True):
        team_key = (rule.owner_team_id if rule is not None else None) or 0
        results.append(_answer(alert, rule, members.get(team_key, 0), leads.get(team_key, []), now))
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
