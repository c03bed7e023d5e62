"""The guardrails of runbook automation, each a function that names what it refuses.

`services.run_trigger` and `services.run_approve` call `budget_refusal` inside the transaction
that creates (or releases) the run, after locking the `AutomationSwitch` singleton and then the
action row (`select_for_update`, always in that order). Every trigger in the fleet therefore
reads the counts below one at a time and sees the runs the previous one committed: fifty
simultaneous triggers cannot exceed a budget. On SQLite (one writer at a time) the transaction
alone serializes them.

The order of checks is the order of the `Guardrail` values: the first that refuses is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Max

from alerts.automation import selectors
from alerts.automation.models import Action, ActionRun, AutomationSwitch
from alerts.models import Episode
from fleet.access import can_edit_team_object

HOUR = selectors.HOUR


class Guardrail:
    PERMISSION = "permission"
    KILL_SWITCH = "kill_switch"
    ACTION_DISABLED = "action_disabled"
    CIRCUIT_BREAKER = "circuit_breaker"
    LABEL_FILTER = "label_filter"
    EPISODE_RESOLVED = "episode_resolved"
    COOLDOWN = "cooldown"
    RATE_BUDGET = "rate_budget"
    MAX_CONCURRENT = "max_concurrent"
    MAX_CONCURRENT_SYSTEM = "max_concurrent_system"
    HOST_NOT_ALLOWED = "host_not_allowed"
    TWO_PERSON_RULE = "two_person_rule"


@dataclass(frozen=True)
class Refusal:
    guardrail: str
    message: str
    trips_breaker: bool = False


class AutomationRefused(Exception):
    """A guardrail refused; `refusal` names which one and why (recorded in the audit log)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


def may_manage(user: Any, action: Action) -> bool:
    """Create, change, run or approve: members of the owning team, or staff."""
    return can_edit_team_object(user, action.team_id)


def permission_refusal(user: Any, team_id: int) -> Refusal | None:
    if can_edit_team_object(user, team_id):
        return None
    return Refusal(Guardrail.PERMISSION, "Only members of the owning team (or staff) may do this.")


def host_allowed(url: str) -> bool:
    """Is the URL's host (or host:port) on STEWARD_AUTOMATION_ALLOWED_HOSTS? An entry starting
    with a dot allows the subdomains of a domain (".ml.example.com")."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return False
    if not host:
        return False
    for entry in settings.STEWARD_AUTOMATION_ALLOWED_HOSTS:
        allowed = entry.strip().lower().rstrip(".")
        if not allowed:
            continue
        if allowed.startswith(".") and (host.endswith(allowed) or host == allowed[1:]):
            return True
        if allowed == host or (port is not None and allowed == f"{host}:{port}"):
            return True
    return False


def host_refusal(url: str) -> Refusal | None:
    if host_allowed(url):
        return None
    host = urlsplit(url).hostname or "?"
    return Refusal(
        Guardrail.HOST_NOT_ALLOWED,
        f"{host} is not on STEWARD_AUTOMATION_ALLOWED_HOSTS; actions may only call listed hosts.",
    )


def label_filter_matches(label_filter: dict[str, Any], labels: dict[str, Any]) -> bool:
    """Every label named in the filter has one of its allowed values (a value or a list)."""
    for name, allowed in (label_filter or {}).items():
        values = allowed if isinstance(allowed, list) else [allowed]
        if str(labels.get(name, "")) not in {str(v) for v in values}:
            return False
    return True


def switch_refusal(switch: AutomationSwitch, action: Action, *, automatic: bool) -> Refusal | None:
    """The kill switches and the tripped breaker: checked again right before a request."""
    if not switch.enabled:
        reason = f": {switch.reason}" if switch.reason else ""
        return Refusal(Guardrail.KILL_SWITCH, f"Automation is switched off fleet-wide{reason}.")
    if action.disabled:
        reason = f": {action.disabled_reason}" if action.disabled_reason else ""
        return Refusal(Guardrail.ACTION_DISABLED, f"The action is disabled{reason}.")
    if automatic and switch.breaker_tripped:
        return Refusal(
            Guardrail.CIRCUIT_BREAKER,
            "The fleet-wide circuit breaker is tripped; automatic runs are paused until reset.",
        )
    return None


def cooldown_refusal(action: Action, episode: Episode, now: datetime) -> Refusal | None:
    """One run per alert series (rule and fingerprint) per cooldown; a run waiting for approval
    holds the series as well."""
    recent = (
        selectors.runs_in_cooldown(action, now=now)
        .filter(episode__rule_id=episode.rule_id, episode__fingerprint=episode.fingerprint)
        .exists()
    )
    if recent:
        return Refusal(
            Guardrail.COOLDOWN,
            f"This alert series had a run in the last {action.cooldown_seconds} s (cooldown).",
        )
    return None


def budget_refusal(
    *, switch: AutomationSwitch, action: Action, episode: Episode, automatic: bool, now: datetime
) -> Refusal | None:
    """Rate budget, concurrency per action and per system, and the fleet-wide breaker.

    Called with the switch and action rows locked. A refusal with `trips_breaker` asks the
    caller to trip the breaker (it holds the switch row).
    """
    ran_last_hour = selectors.runs_executed_last_hour(action.pk, now=now)
    if ran_last_hour >= action.max_runs_per_hour:
        return Refusal(
            Guardrail.RATE_BUDGET,
            f"The action ran {ran_last_hour} times in the last hour "
            f"(budget {action.max_runs_per_hour}).",
        )
    active = selectors.runs_active(action.pk)
    if active >= action.max_concurrent:
        return Refusal(
            Guardrail.MAX_CONCURRENT,
            f"{active} runs of this action are in progress (at most {action.max_concurrent}).",
        )
    if episode.system_id is not None:
        limit = settings.STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM
        on_system = selectors.runs_active_on_system(episode.system_id)
        if on_system >= limit:
            return Refusal(
                Guardrail.MAX_CONCURRENT_SYSTEM,
                f"{on_system} runs are in progress on this system (at most {limit}).",
            )
    if automatic:
        limit = settings.STEWARD_AUTOMATION_MAX_AUTO_RUNS_PER_HOUR
        fleet_automatic = selectors.automatic_runs_last_hour(now=now)
        if fleet_automatic >= limit:
            return Refusal(
                Guardrail.CIRCUIT_BREAKER,
                f"{fleet_automatic} automatic runs in the last hour fleet-wide (at most {limit}): "
                "the circuit breaker trips and automatic runs pause.",
                trips_breaker=True,
            )
    return None


def next_attempt(action: Action, episode: Episode) -> int:
    """The attempt number of the next run (the action row is locked by the caller)."""
    last = ActionRun.objects.filter(action=action, episode=episode).aggregate(m=Max("attempt"))
    return int(last["m"] or 0) + 1
