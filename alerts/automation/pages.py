"""Reads for the automation pages that the services' selectors do not give: an action's
guardrail state right now (budget used, runs in progress, alert series in cooldown), the
on-call page's automation section, and the team scoping of the lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from alerts.automation import selectors
from alerts.automation.models import Action, ActionRun
from alerts.models import AlertRule, Episode
from fleet.access import is_fleet_admin, team_ids_for_user


def actions_visible(user: Any) -> QuerySet[Action]:
    """Team-scoped: the user's teams' actions (staff and fleet-wide tokens: all)."""
    actions = Action.objects.select_related("team", "runbook")
    if is_fleet_admin(user):
        return actions
    return actions.filter(team_id__in=team_ids_for_user(user))


def runs_visible(user: Any) -> QuerySet[ActionRun]:
    runs = ActionRun.objects.select_related("action", "episode__rule")
    if is_fleet_admin(user):
        return runs
    return runs.filter(action__team_id__in=team_ids_for_user(user))


@dataclass(frozen=True)
class GuardrailState:
    budget_used: int
    budget: int
    active: int
    max_concurrent: int
    cooling: list[tuple[str, str, datetime]]  # (alertname, fingerprint, until)
    auto_runs_last_hour: int
    auto_runs_limit: int


def guardrail_state(action: Action, *, now: datetime) -> GuardrailState:
    """The figures the guardrails compare with their limits, from the selectors that
    guardrails.budget_refusal and cooldown_refusal enforce with: the page cannot disagree."""
    cooling: list[tuple[str, str, datetime]] = []
    seen: set[tuple[str, str]] = set()
    for run in (
        selectors.runs_in_cooldown(action, now=now)
        .select_related("episode__rule")
        .order_by("-created_at")[:50]
    ):
        key = (run.episode.rule.alertname, run.episode.fingerprint)
        if key not in seen:
            seen.add(key)
            until = run.created_at + timedelta(seconds=action.cooldown_seconds)
            cooling.append((key[0], key[1], until))
    return GuardrailState(
        budget_used=selectors.runs_executed_last_hour(action.pk, now=now),
        budget=action.max_runs_per_hour,
        active=selectors.runs_active(action.pk),
        max_concurrent=action.max_concurrent,
        cooling=cooling,
        auto_runs_last_hour=selectors.automatic_runs_last_hour(now=now),
        auto_runs_limit=settings.STEWARD_AUTOMATION_MAX_AUTO_RUNS_PER_HOUR,
    )


@dataclass
class OncallAutomation:
    """The on-call page's automation section: the rule's actions, who may run them, the
    fleet-wide state, and the focused episode's runs and audit."""

    status: selectors.AutomationStatus
    actions: list[tuple[Action, bool]] = field(default_factory=list)  # (action, may run)
    runs: list[ActionRun] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    approvals: list[ActionRun] = field(default_factory=list)


def oncall_automation(
    *, rule: AlertRule | None, focus: Episode | None, user: Any
) -> OncallAutomation | None:
    """None when the rule has no actions (the page then shows nothing)."""
    if rule is None:
        return None
    actions = list(selectors.actions_for_rule(rule))
    if not actions:
        # One query for the pages of rules without automation (runs need an action: PROTECT).
        return None
    runs = list(selectors.runs_for_episode(focus.pk)) if focus is not None else []
    status = selectors.automation_status()
    events = selectors.events_for_episode(focus.pk) if focus is not None else []
    user_id = getattr(user, "pk", None)
    # Looked up once (fleet.access.can_edit_team_object's rule), not once per action.
    admin = is_fleet_admin(user)
    team_ids = set() if admin else team_ids_for_user(user)

    def may(action: Action) -> bool:
        return admin or action.team_id in team_ids

    approvals = [
        r
        for r in runs
        if r.state == ActionRun.State.PENDING_APPROVAL
        and r.requested_by_id != user_id
        and may(r.action)
    ]
    return OncallAutomation(
        status=status,
        actions=[(a, may(a)) for a in actions],
        runs=runs,
        events=events,
        approvals=approvals,
    )
