"""Reads of runbook automation, for the on-call page, the episode, the action's page and the
weekly review (the pages live elsewhere; everything they show comes from here)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet

from alerts.automation.models import Action, ActionRun, AutomationEvent, AutomationSwitch
from alerts.models import AlertRule, Episode
from core.weeks import week_bounds
from fleet.access import is_fleet_admin, team_ids_for_user


@dataclass(frozen=True)
class AutomationStatus:
    """The fleet-wide state, for a banner: off (kill switch) or paused (breaker tripped)."""

    enabled: bool
    reason: str
    breaker_tripped: bool
    breaker_reason: str
    switch: AutomationSwitch | None

    @property
    def paused(self) -> bool:
        return not self.enabled or self.breaker_tripped


def automation_status() -> AutomationStatus:
    switch = AutomationSwitch.objects.filter(pk=AutomationSwitch.SINGLETON_PK).first()
    if switch is None:
        return AutomationStatus(True, "", False, "", None)
    return AutomationStatus(
        enabled=switch.enabled,
        reason=switch.reason,
        breaker_tripped=switch.breaker_tripped,
        breaker_reason=switch.breaker_reason,
        switch=switch,
    )


# --- the guardrails' counts ------------------------------------------------------------------
# One home for what the guardrails compare with their limits: guardrails.py enforces with
# these (inside its locked transaction) and the action's page shows the same figures.

HOUR = timedelta(hours=1)


def runs_executed_last_hour(action_id: int, *, now: datetime) -> int:
    """The action's rate budget spent: runs let through in the hour before `now`."""
    return ActionRun.objects.filter(
        action_id=action_id, state__in=ActionRun.EXECUTED, queued_at__gte=now - HOUR
    ).count()


def runs_active(action_id: int) -> int:
    """The action's runs queued or running (its concurrency)."""
    return ActionRun.objects.filter(action_id=action_id, state__in=ActionRun.ACTIVE).count()


def runs_active_on_system(system_id: int) -> int:
    """Runs queued or running against one AI system, all actions together."""
    return ActionRun.objects.filter(
        episode__system_id=system_id, state__in=ActionRun.ACTIVE
    ).count()


def automatic_runs_last_hour(*, now: datetime) -> int:
    """Automatic runs let through fleet-wide in the hour before `now` (the circuit breaker)."""
    return ActionRun.objects.filter(
        trigger=ActionRun.TriggerKind.AUTOMATIC,
        state__in=ActionRun.EXECUTED,
        queued_at__gte=now - HOUR,
    ).count()


def runs_in_cooldown(action: Action, *, now: datetime) -> QuerySet[ActionRun]:
    """The action's runs that hold their alert series in cooldown at `now` (let through, or
    waiting for approval, within `cooldown_seconds`); none when the action has no cooldown."""
    if action.cooldown_seconds <= 0:
        return ActionRun.objects.none()
    return ActionRun.objects.filter(
        action_id=action.pk,
        state__in=[*ActionRun.EXECUTED, ActionRun.State.PENDING_APPROVAL],
        created_at__gte=now - timedelta(seconds=action.cooldown_seconds),
    )


def actions_for_rule(rule: AlertRule) -> QuerySet[Action]:
    """The actions of the rule's runbook (the buttons of its on-call page)."""
    if rule.runbook_id is None:
        return Action.objects.none()
    return Action.objects.filter(runbook_id=rule.runbook_id).select_related("team", "runbook")


def actions_for_team(team_id: int) -> QuerySet[Action]:
    return Action.objects.filter(team_id=team_id).select_related("runbook")


def runs_for_episode(episode_id: int) -> QuerySet[ActionRun]:
    return ActionRun.objects.filter(episode_id=episode_id).select_related(
        "action", "requested_by", "approved_by"
    )


def runs_for_action(action_id: int, *, limit: int = 100) -> list[ActionRun]:
    return list(
        ActionRun.objects.filter(action_id=action_id).select_related(
            "episode", "requested_by", "approved_by"
        )[:limit]
    )


def events_for_episode(episode_id: int, *, limit: int = 200) -> list[AutomationEvent]:
    return list(
        AutomationEvent.objects.filter(episode_id=episode_id)
        .select_related("action")
        .order_by("at", "id")[:limit]
    )


def events_for_action(action_id: int, *, limit: int = 200) -> list[AutomationEvent]:
    return list(AutomationEvent.objects.filter(action_id=action_id)[:limit])


def events_fleet(*, limit: int = 100) -> list[AutomationEvent]:
    """Kill switch and breaker changes (no action): the fleet-wide history."""
    return list(AutomationEvent.objects.filter(action=None)[:limit])


def approvals_waiting(user: Any) -> QuerySet[ActionRun]:
    """Runs waiting for a second person that `user` may approve (not their own)."""
    runs = ActionRun.objects.filter(state=ActionRun.State.PENDING_APPROVAL).select_related(
        "action", "episode__rule", "requested_by"
    )
    if not is_fleet_admin(user):
        runs = runs.filter(action__team_id__in=team_ids_for_user(user))
    return runs.exclude(requested_by_id=getattr(user, "pk", None))


@dataclass
class ActionWeek:
    """One action's week for the review: runs, success and resolution, and its share of the
    episodes of its rules that resolved without a human."""

    action: Action
    runs: int = 0  # requests sent (attempts that passed the guardrails)
    succeeded: int = 0
    failed: int = 0
    dry_runs: int = 0
    refused: int = 0
    verified: int = 0
    resolved: int = 0
    episodes: int = 0  # episodes of the action's rules that started in the week
    resolved_without_human: int = 0
    refusals: dict[str, int] = field(default_factory=dict)

    @property
    def success_rate(self) -> float | None:
        finished = self.succeeded + self.failed
        return self.succeeded / finished if finished else None

    @property
    def resolution_rate(self) -> float | None:
        return self.resolved / self.verified if self.verified else None

    @property
    def share_without_human(self) -> float | None:
        return self.resolved_without_human / self.episodes if self.episodes else None


def action_weeks(*, week: str, team_id: int | None = None) -> list[ActionWeek]:
    """Every action with runs or episodes in `week` (ISO), optionally one team's. A fixed number
    of queries whatever the number of actions."""
    start, end = week_bounds(week)
    actions = Action.objects.select_related("team", "runbook")
    if team_id is not None:
        actions = actions.filter(team_id=team_id)
    by_id = {a.pk: ActionWeek(action=a) for a in actions}
    if not by_id:
        return []
    runs = (
        ActionRun.objects.filter(
            action_id__in=by_id, episode__starts_at__gte=start, episode__starts_at__lt=end
        )
        .values("action_id", "state", "verification", "guardrail")
        .annotate(n=Count("id"))
    )
    for row in runs:
        stats = by_id[row["action_id"]]
        n, state = row["n"], row["state"]
        if state in ActionRun.EXECUTED:
            stats.runs += n
        if state == ActionRun.State.SUCCEEDED:
            stats.succeeded += n
        elif state == ActionRun.State.FAILED:
            stats.failed += n
        elif state == ActionRun.State.DRY_RUN:
            stats.dry_runs += n
        elif state == ActionRun.State.REFUSED:
            stats.refused += n
            stats.refusals[row["guardrail"]] = stats.refusals.get(row["guardrail"], 0) + n
        if row["verification"] in (
            ActionRun.Verification.RESOLVED,
            ActionRun.Verification.NOT_RESOLVED,
        ):
            stats.verified += n
        if row["verification"] == ActionRun.Verification.RESOLVED:
            stats.resolved += n
    # Episodes of each action's rules (through the runbook).
    actions_by_runbook: dict[int, list[int]] = defaultdict(list)
    for stats in by_id.values():
        actions_by_runbook[stats.action.runbook_id].append(stats.action.pk)
    episode_counts = (
        Episode.objects.filter(
            rule__runbook_id__in=actions_by_runbook, starts_at__gte=start, starts_at__lt=end
        )
        .values("rule__runbook_id")
        .annotate(n=Count("id"))
    )
    for row in episode_counts:
        for action_id in actions_by_runbook[row["rule__runbook_id"]]:
            by_id[action_id].episodes += row["n"]
    # Resolved without a human: an automatic run succeeded and verified the resolution, and
    # nobody engaged with the episode (opened its runbook or gave feedback).
    unattended = (
        ActionRun.objects.filter(
            action_id__in=by_id,
            trigger=ActionRun.TriggerKind.AUTOMATIC,
            state=ActionRun.State.SUCCEEDED,
            verification=ActionRun.Verification.RESOLVED,
            episode__starts_at__gte=start,
            episode__starts_at__lt=end,
        )
        .filter(episode__engagements__isnull=True)
        .values("action_id")
        .annotate(n=Count("episode_id", distinct=True))
    )
    for row in unattended:
        by_id[row["action_id"]].resolved_without_human = row["n"]
    weeks = [s for s in by_id.values() if s.runs or s.dry_runs or s.refused or s.episodes]
    return sorted(weeks, key=lambda s: (s.action.team.name, s.action.name))
