"""Ownership is claimed, not taken: the one rule every write of an alert rule goes through.

The most specific rule wins an alert (`alerts.selectors.rule_resolve`), so a team could take
another team's alerts, and with them its pages, runbook link and noise statistics, simply by
writing a rule with more matchers. A write *captures* from another rule when, after it, the
written rule would win alerts that the other rule catches today and a different team (or no
team) would own them. Only the team losing the alerts (a member, or that team's token) or
staff and fleet-wide tokens may do that.

`rule_capture_conflicts` finds the captures of one write; `rule_capture_authorize` is the
check the API, the admin and the review's reassign call with the acting user; the rule-file
import (`alerts.catalog.rulefiles`) runs without a user and decides with its own flags.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied

from alerts.catalog.ownership import rule_owner_team, rule_owner_team_id
from alerts.models import AlertRule, matchers_key
from alerts.selectors import rule_outranks
from fleet.access import can_edit_team_object


@dataclass(frozen=True)
class CaptureConflict:
    """Alerts that `rule` (another team's rule, or the written rule as it was) catches today
    and that the write would hand to a different owner."""

    rule: AlertRule
    team_id: int
    team_slug: str

    def describe(self) -> str:
        return f"{self.team_slug}'s rule #{self.rule.pk} {rule_label(self.rule)}"


def rule_label(rule: AlertRule) -> str:
    """`ModelLatencyHigh{env=prod,model=x}`, also for a rule not saved yet."""
    key = matchers_key(rule.matchers or {})
    return f"{rule.alertname}{{{key}}}" if key else rule.alertname


def _owner(rule: AlertRule) -> tuple[int, str] | None:
    team = rule_owner_team(rule)
    return None if team is None else (team.pk, team.slug)


def rule_capture_conflicts(
    rule: AlertRule, *, before: AlertRule | None = None, ignore: Collection[int] = ()
) -> list[CaptureConflict]:
    """The captures that writing `rule` (its new state, saved or not) would make.

    1. The written rule itself: when its owner changes, the alerts it caught leave the old
       owner (a create has no old state).
    2. Every other rule of the same alertname that the new state outranks, owned by a team
       other than the new owner, unless the old state already outranked it under a different
       owner: a capture once allowed is not asked again on every edit of the summary.
    `ignore` names rules that are not "today's" (created earlier in the same import).
    """
    new_owner = rule_owner_team_id(rule)
    conflicts: list[CaptureConflict] = []
    if before is not None and (old := _owner(before)) is not None and old[0] != new_owner:
        conflicts.append(CaptureConflict(before, *old))
    others = (
        AlertRule.objects.filter(alertname=rule.alertname)
        .select_related("owner_team", "system__owner_team")
        .order_by("pk")
    )
    for other in others:
        # Skipped here, not in SQL: a large import's `ignore` would outgrow a parameter list.
        if other.pk == rule.pk or other.pk in ignore:
            continue
        owner = _owner(other)
        if owner is None or owner[0] == new_owner or not rule_outranks(rule, other):
            continue
        if before is not None and _captured(before, other, owner[0]):
            continue
        conflicts.append(CaptureConflict(other, *owner))
    return conflicts


def _captured(before: AlertRule, other: AlertRule, other_owner: int) -> bool:
    return (
        before.alertname == other.alertname
        and rule_outranks(before, other)
        and rule_owner_team_id(before) != other_owner
    )


def capture_refusal(
    rule: AlertRule, conflicts: Sequence[CaptureConflict], *, may_act_for: Callable[[int], bool]
) -> str | None:
    """Why the write is refused (naming every team and rule it would take from), or None."""
    refused = [conflict for conflict in conflicts if not may_act_for(conflict.team_id)]
    if not refused:
        return None
    teams = sorted({conflict.team_slug for conflict in refused})
    taken = "; ".join(conflict.describe() for conflict in refused)
    return (
        f"{rule_label(rule)} would take alerts that another team's rule catches today "
        f"({taken}): the rule with the most matchers wins an alert. Only a member or token of "
        f"{', '.join(teams)}, or staff, may hand those alerts to another owner."
    )


def rule_capture_authorize(
    *, user: Any, rule: AlertRule, before: AlertRule | None = None
) -> list[CaptureConflict]:
    """Raise PermissionDenied unless `user` may make every capture of this write.

    Returns the captures (allowed ones too), for callers that show or confirm them.
    """
    conflicts = rule_capture_conflicts(rule, before=before)
    refusal = capture_refusal(
        rule, conflicts, may_act_for=lambda team_id: can_edit_team_object(user, team_id)
    )
    if refusal is not None:
        raise PermissionDenied(refusal)
    return conflicts
