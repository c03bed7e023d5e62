"""Writes of runbook automation: actions, triggers, approvals, execution and verification.

A trigger (`run_trigger`) goes through, in one transaction holding the switch and action row
locks (guardrails.py): permission, kill switches, breaker, label filter, cooldown per series,
dry run (the first N triggers of a new or changed action only record "would run"), rate budget,
concurrency per action and per system, the fleet-wide breaker, and the two-person rule for
high-risk actions (the run waits for `run_approve` by another member of the owning team, unless
break-glass with a reason). A run let through is queued; `run_execute` (the Celery task) sends
the signed request after the commit, and `run_verify` checks that the episode resolved.

Everything is written to the append-only `AutomationEvent` log as it happens. Secrets are read
only in `request_build` and never reach a log line, an event or the stored request.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts.automation import guardrails, rendering, signing
from alerts.automation.guardrails import AutomationRefused, Guardrail, Refusal
from alerts.automation.models import Action, ActionRun, AutomationEvent, AutomationSwitch
from alerts.models import Episode
from core import outbound
from core.secrets import decrypt_json, encrypt_json

logger = logging.getLogger(__name__)

MASK = "********"
EXCERPT_CHARS = 2000
# Header names whose values are treated as secrets in the stored request, whatever the action says.
_SECRET_HEADER_WORDS = ("authorization", "token", "secret", "key", "cookie", "signature", "pass")
# Fields whose change makes a new version of the action, back in dry run.
VERSIONED_FIELDS = (
    "method",
    "url",
    "headers",
    "body_template",
    "risk",
    "trigger",
    "auto_delay_seconds",
    "label_filter",
    "expected_status",
    "timeout_seconds",
    "step",
    "runbook",
    "runbook_id",
)
EDITABLE_FIELDS = (
    "step",
    "name",
    "description",
    "risk",
    "method",
    "url",
    "headers",
    "body_template",
    "timeout_seconds",
    "expected_status",
    "verify_resolution_seconds",
    "trigger",
    "auto_delay_seconds",
    "label_filter",
    "max_runs_per_hour",
    "max_concurrent",
    "cooldown_seconds",
)
VERIFICATIONS_PENDING_KEY = "automation:verifications-pending"
# core.outbound.send's signature: what run_execute hands the request to.
Send = Callable[..., outbound.OutboundResponse]
AUTOMATIC_RULES_KEY = "automation:automatic-rule-ids"
TRIGGERS_PENDING_KEY = "automation:triggers-pending"
# Scheduled triggers are looked for this long after their delay ran out (a Steward that was down
# then still runs them on its next delivery, and sees that the alert may have resolved).
SCHEDULED_GRACE = timedelta(days=1)


# --- the audit log ---------------------------------------------------------------------------


def event_record(
    kind: str,
    message: str,
    *,
    action: Action | None = None,
    run: ActionRun | None = None,
    episode_id: int | None = None,
    actor: Any = None,
    guardrail: str = "",
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AutomationEvent:
    user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    if episode_id is None and run is not None:
        episode_id = run.episode_id
    return AutomationEvent.objects.create(
        at=at or timezone.now(),
        kind=kind,
        message=message[:1000],
        action=action if action is not None else (run.action if run is not None else None),
        run=run,
        episode_id=episode_id,
        actor=user if user is not None and user.pk is not None else None,
        actor_name=(user.get_username() if user is not None else "")[:150],
        guardrail=guardrail,
        data=data or {},
    )


def switch_get(*, lock: bool = False) -> AutomationSwitch:
    """The singleton; created on first use (migration 0002 creates it too)."""
    queryset = AutomationSwitch.objects.select_for_update() if lock else AutomationSwitch.objects
    try:
        return queryset.get(pk=AutomationSwitch.SINGLETON_PK)
    except AutomationSwitch.DoesNotExist:
        try:
            with transaction.atomic():
                AutomationSwitch.objects.create(pk=AutomationSwitch.SINGLETON_PK)
        except IntegrityError:
            pass
        return queryset.get(pk=AutomationSwitch.SINGLETON_PK)


# --- actions ---------------------------------------------------------------------------------


def _refuse_unless_may_manage(user: Any, team_id: int) -> None:
    refusal = guardrails.permission_refusal(user, team_id)
    if refusal is not None:
        raise AutomationRefused(refusal)


def _action_validate(action: Action) -> None:
    """Model validation, the host allow-list and the template; ValidationError by field."""
    action.full_clean(exclude=["created_by", "updated_by"])
    errors: dict[str, list[str]] = {}
    refusal = guardrails.host_refusal(action.url)
    if refusal is not None:
        errors.setdefault("url", []).append(refusal.message)
    try:
        rendering.template_check(action.body_template)
    except rendering.RenderError as error:
        errors.setdefault("body_template", []).append(str(error))
    if not isinstance(action.headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in action.headers.items()
    ):
        errors.setdefault("headers", []).append("Headers must be an object of strings.")
    if not isinstance(action.label_filter, dict):
        errors.setdefault("label_filter", []).append("The label filter must be an object.")
    if errors:
        raise ValidationError(errors)


def _secret_store(
    action: Action, *, signing_key: str, bearer_token: str = "", now: datetime | None = None
) -> None:
    secrets = {"signing_key": signing_key}
    if bearer_token:
        secrets["bearer_token"] = bearer_token
    action.secret_ciphertext = encrypt_json(secrets)
    action.secret_set_at = now or timezone.now()


def action_create(
    *,
    user: Any,
    team_id: int,
    runbook_id: int,
    name: str,
    url: str,
    signing_key: str,
    bearer_token: str = "",
    now: datetime | None = None,
    **fields: Any,
) -> Action:
    """A new action, in dry run for its first STEWARD_AUTOMATION_DRY_RUN_TRIGGERS triggers."""
    _refuse_unless_may_manage(user, team_id)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    if not signing_key:
        raise ValidationError({"signing_key": ["A signing key is required."]})
    now = now or timezone.now()
    action = Action(team_id=team_id, runbook_id=runbook_id, name=name, url=url, **fields)
    action.created_by = action.updated_by = user if user.pk is not None else None
    action.created_at = action.updated_at = now
    _secret_store(action, signing_key=signing_key, bearer_token=bearer_token, now=now)
    _action_validate(action)
    with transaction.atomic():
        action.save()
        event_record(
            AutomationEvent.Kind.ACTION_CREATED,
            f"Action created (version 1), in dry run for {action.dry_run_remaining} triggers.",
            action=action,
            actor=user,
            at=now,
        )
    _automatic_rules_forget()
    return action


def action_update(*, action: Action, user: Any, **changes: Any) -> Action:
    """Change an action; a change of what it sends or when makes a new version, in dry run."""
    _refuse_unless_may_manage(user, action.team_id)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(sorted(unknown))}.")
    changed = [name for name, value in changes.items() if getattr(action, name) != value]
    if not changed:
        return action
    for name in changed:
        setattr(action, name, changes[name])
    _action_validate(action)
    with transaction.atomic():
        _action_changed(action, user=user, changed=changed)
    return action


def _action_changed(action: Action, *, user: Any, changed: list[str]) -> None:
    versioned = [name for name in changed if name in VERSIONED_FIELDS]
    if versioned:
        action.version += 1
        action.dry_run_remaining = settings.STEWARD_AUTOMATION_DRY_RUN_TRIGGERS
    action.updated_by = user if user is not None and user.pk is not None else None
    action.updated_at = timezone.now()
    action.save()
    message = f"Changed: {', '.join(changed)}."
    if versioned:
        message += f" Version {action.version}, back in dry run for "
        message += f"{action.dry_run_remaining} triggers."
    event_record(
        AutomationEvent.Kind.ACTION_CHANGED,
        message,
        action=action,
        actor=user,
        data={"changed": changed, "version": action.version},
    )
    _automatic_rules_forget()


def action_save_from_admin(
    *,
    action: Action,
    user: Any,
    changed_fields: list[str],
    is_new: bool,
    signing_key: str,
    bearer_token: str,
) -> None:
    """The admin's save: same versioning and audit as the services above."""
    changed = [name for name in changed_fields if name not in ("signing_key", "bearer_token")]
    with transaction.atomic():
        if signing_key or bearer_token:
            stored = decrypt_json(action.secret_ciphertext) if action.secret_ciphertext else {}
            _secret_store(
                action,
                signing_key=signing_key or stored.get("signing_key", ""),
                bearer_token=bearer_token or stored.get("bearer_token", ""),
            )
        if is_new:
            action.created_by = action.updated_by = user
            action.save()
            event_record(
                AutomationEvent.Kind.ACTION_CREATED,
                "Action created in the admin.",
                action=action,
                actor=user,
            )
        else:
            _action_changed(action, user=user, changed=changed or ["secret"])
        if signing_key or bearer_token:
            event_record(AutomationEvent.Kind.SECRET_SET, "Secret set.", action=action, actor=user)
    _automatic_rules_forget()


def action_secret_set(
    *, action: Action, user: Any, signing_key: str, bearer_token: str = ""
) -> None:
    """Replace the secret (write-only: it is never shown again)."""
    _refuse_unless_may_manage(user, action.team_id)
    if not signing_key:
        raise ValidationError({"signing_key": ["A signing key is required."]})
    with transaction.atomic():
        _secret_store(action, signing_key=signing_key, bearer_token=bearer_token)
        action.save(update_fields=["secret_ciphertext", "secret_set_at"])
        event_record(AutomationEvent.Kind.SECRET_SET, "Secret set.", action=action, actor=user)


def action_promote(*, action: Action, user: Any, now: datetime | None = None) -> Action:
    """The owner ends the dry run: the next triggers send real requests."""
    _refuse_unless_may_manage(user, action.team_id)
    with transaction.atomic():
        locked = Action.objects.select_for_update().get(pk=action.pk)
        skipped = locked.dry_run_remaining
        locked.dry_run_remaining = 0
        locked.save(update_fields=["dry_run_remaining"])
        event_record(
            AutomationEvent.Kind.PROMOTED,
            f"Promoted out of dry run (version {locked.version}; {skipped} dry runs skipped).",
            action=locked,
            actor=user,
            at=now,
        )
    action.dry_run_remaining = 0
    return locked


def action_disable(*, action: Action, user: Any, reason: str) -> Action:
    """The per-action kill switch."""
    if user is not None:
        _refuse_unless_may_manage(user, action.team_id)
    with transaction.atomic():
        locked = Action.objects.select_for_update().get(pk=action.pk)
        _disable(locked, reason=reason or "switched off", actor=user)
    _automatic_rules_forget()
    return locked


def _disable(action: Action, *, reason: str, actor: Any = None) -> None:
    action.disabled = True
    action.disabled_reason = reason[:300]
    action.disabled_at = timezone.now()
    action.save(update_fields=["disabled", "disabled_reason", "disabled_at"])
    event_record(AutomationEvent.Kind.DISABLED, f"Disabled: {reason}", action=action, actor=actor)
    logger.warning("automation action %s disabled: %s", action.pk, reason)


def action_enable(*, action: Action, user: Any) -> Action:
    _refuse_unless_may_manage(user, action.team_id)
    with transaction.atomic():
        locked = Action.objects.select_for_update().get(pk=action.pk)
        locked.disabled = False
        locked.disabled_reason = ""
        locked.disabled_at = None
        locked.consecutive_failures = 0
        locked.save(
            update_fields=["disabled", "disabled_reason", "disabled_at", "consecutive_failures"]
        )
        event_record(AutomationEvent.Kind.ENABLED, "Enabled.", action=locked, actor=user)
    _automatic_rules_forget()
    return locked


def automation_switch_set(*, user: Any, enabled: bool, reason: str = "") -> AutomationSwitch:
    """The global kill switch (staff only)."""
    if not getattr(user, "is_staff", False):
        raise AutomationRefused(
            Refusal(Guardrail.PERMISSION, "Only staff may switch automation on or off.")
        )
    with transaction.atomic():
        switch = switch_get(lock=True)
        switch.enabled = enabled
        switch.reason = reason[:300]
        switch.changed_by = user
        switch.changed_at = timezone.now()
        switch.save()
        state = "on" if enabled else "off"
        event_record(
            AutomationEvent.Kind.KILL_SWITCH,
            f"Automation switched {state} fleet-wide" + (f": {reason}" if reason else "."),
            actor=user,
        )
    logger.warning("automation switched %s fleet-wide by %s", state, user.get_username())
    return switch


def breaker_reset(*, user: Any) -> AutomationSwitch:
    """Close the tripped circuit breaker (staff only): automatic runs resume."""
    if not getattr(user, "is_staff", False):
        raise AutomationRefused(
            Refusal(Guardrail.PERMISSION, "Only staff may reset the circuit breaker.")
        )
    with transaction.atomic():
        switch = switch_get(lock=True)
        switch.breaker_tripped_at = None
        switch.breaker_reason = ""
        switch.changed_by = user
        switch.changed_at = timezone.now()
        switch.save()
        event_record(AutomationEvent.Kind.BREAKER_RESET, "Circuit breaker reset.", actor=user)
    return switch


# --- the request -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    masked: dict[str, Any]  # what is stored and shown: secrets masked


def render_context(
    action: Action, episode: Episode, *, run_id: int | None, attempt: int
) -> dict[str, Any]:
    rule = episode.rule
    return {
        "labels": dict(episode.labels or {}),
        "annotations": dict(episode.annotations or {}),
        "episode": {
            "id": episode.pk,
            "fingerprint": episode.fingerprint,
            "starts_at": episode.starts_at.isoformat(),
            "ends_at": episode.ends_at.isoformat() if episode.ends_at else None,
            "firing": episode.ends_at is None,
            "system": episode.system.slug if episode.system_id and episode.system else None,
        },
        "rule": {
            "id": rule.pk,
            "alertname": rule.alertname,
            "severity": rule.severity,
        },
        "action": {"id": action.pk, "name": action.name, "version": action.version},
        "run": {"id": run_id, "attempt": attempt},
        "steward_url": settings.STEWARD_BASE_URL,
    }


def _masked_headers(headers: dict[str, str]) -> dict[str, str]:
    masked = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower == signing.TIMESTAMP_HEADER.lower() or lower == signing.IDEMPOTENCY_HEADER.lower():
            masked[name] = value
        elif lower == "authorization":
            scheme = value.split(" ", 1)[0] if " " in value else ""
            masked[name] = f"{scheme} {MASK}".strip()
        elif lower == signing.SIGNATURE_HEADER.lower():
            masked[name] = f"sha256={MASK}"
        elif any(word in lower for word in _SECRET_HEADER_WORDS):
            masked[name] = MASK
        else:
            masked[name] = value
    return masked


def request_build(
    action: Action,
    episode: Episode,
    *,
    run_id: int | None,
    attempt: int,
    now: float | None = None,
) -> PreparedRequest:
    """The exact request: rendered body, action headers, signature, bearer token, idempotency
    key. Raises rendering.RenderError, or SecretUnreadable (core.secrets)."""
    body = rendering.body_render(
        action.body_template, render_context(action, episode, run_id=run_id, attempt=attempt)
    )
    secrets = decrypt_json(action.secret_ciphertext)
    headers: dict[str, str] = {"Content-Type": "application/json", **action.headers}
    headers[signing.IDEMPOTENCY_HEADER] = f"{action.pk}-{episode.pk}-{attempt}"
    if secrets.get("signing_key"):
        headers.update(signing.signed_headers(secrets["signing_key"], body, now=now))
    if secrets.get("bearer_token"):
        headers["Authorization"] = f"Bearer {secrets['bearer_token']}"
    masked = {
        "method": action.method,
        "url": action.url,
        "headers": _masked_headers(headers),
        "body": json.loads(body),
    }
    return PreparedRequest(action.method, action.url, headers, body, masked)


def dry_run_preview(*, action: Action, episode: Episode, user: Any) -> dict[str, Any]:
    """What a run would send now (secrets masked), for the manual trigger's confirmation step.
    Nothing is sent or recorded. Raises AutomationRefused or rendering.RenderError."""
    _refuse_unless_may_manage(user, action.team_id)
    attempt = guardrails.next_attempt(action, episode)
    prepared = request_build(action, episode, run_id=None, attempt=attempt)
    refusal = guardrails.host_refusal(action.url)
    preview = dict(prepared.masked)
    preview["would_be_refused"] = refusal.message if refusal else ""
    preview["dry_run_phase"] = action.dry_run_remaining > 0
    preview["needs_approval"] = action.risk == Action.Risk.HIGH
    return preview


# --- triggers --------------------------------------------------------------------------------


def run_trigger(
    *,
    action: Action,
    episode: Episode,
    user: Any = None,
    kind: str = ActionRun.TriggerKind.MANUAL,
    break_glass_reason: str = "",
    now: datetime | None = None,
) -> ActionRun:
    """Trigger an action for an episode; returns the run in the state the guardrails gave it
    (refused, dry_run, pending_approval or queued). Queued runs execute after the commit."""
    automatic = kind == ActionRun.TriggerKind.AUTOMATIC
    if automatic:
        user = None
    elif user is None:
        raise ValueError("a manual trigger needs the user who asks")
    if kind == ActionRun.TriggerKind.BREAK_GLASS and not break_glass_reason.strip():
        raise ValidationError({"break_glass_reason": ["Break glass needs a reason."]})
    now = now or timezone.now()
    with transaction.atomic():
        switch = switch_get(lock=True)
        locked = Action.objects.select_for_update().get(pk=action.pk)
        episode = Episode.objects.select_related("rule", "system").get(pk=episode.pk)
        attempt = guardrails.next_attempt(locked, episode)
        run = ActionRun(
            action=locked,
            action_version=locked.version,
            episode=episode,
            attempt=attempt,
            trigger=kind,
            requested_by=user,
            break_glass_reason=break_glass_reason.strip()[:2000],
            created_at=now,
        )
        refusal = _trigger_refusal(switch, locked, episode, user=user, automatic=automatic)
        if refusal is None and locked.dry_run_remaining > 0:
            return _dry_run(run, locked, now=now, actor=user)
        if refusal is None:
            refusal = guardrails.cooldown_refusal(locked, episode, now)
        needs_approval = locked.risk == Action.Risk.HIGH and kind != (
            ActionRun.TriggerKind.BREAK_GLASS
        )
        if refusal is None and not needs_approval:
            refusal = guardrails.budget_refusal(
                switch=switch, action=locked, episode=episode, automatic=automatic, now=now
            )
        if refusal is not None:
            return _refuse(run, refusal, switch=switch, actor=user, now=now)
        if needs_approval:
            run.state = ActionRun.State.PENDING_APPROVAL
            run.save()
            _trigger_event(run, actor=user, at=now)
            event_record(
                AutomationEvent.Kind.APPROVAL_REQUESTED,
                "High-risk action: waiting for approval by another member of the owning team.",
                run=run,
                actor=user,
                guardrail=Guardrail.TWO_PERSON_RULE,
                at=now,
            )
            return run
        run.state = ActionRun.State.QUEUED
        run.queued_at = now
        run.save()
        _trigger_event(run, actor=user, at=now)
        if kind == ActionRun.TriggerKind.BREAK_GLASS:
            _break_glass_record(run, actor=user, at=now)
        _queue(run, actor=user, at=now)
    # Eager (or a fast worker): the run may have finished already.
    run.refresh_from_db()
    return run


def _trigger_refusal(
    switch: AutomationSwitch, action: Action, episode: Episode, *, user: Any, automatic: bool
) -> Refusal | None:
    if not automatic:
        refusal = guardrails.permission_refusal(user, action.team_id)
        if refusal is not None:
            return refusal
    refusal = guardrails.switch_refusal(switch, action, automatic=automatic)
    if refusal is not None:
        return refusal
    if automatic and not guardrails.label_filter_matches(action.label_filter, episode.labels):
        return Refusal(Guardrail.LABEL_FILTER, "The episode's labels do not match the filter.")
    if automatic and episode.ends_at is not None:
        return Refusal(Guardrail.EPISODE_RESOLVED, "The episode resolved before the trigger.")
    return guardrails.host_refusal(action.url)


def _trigger_event(run: ActionRun, *, actor: Any, at: datetime | None = None) -> None:
    who = "automatically" if actor is None else f"by {actor.get_username()}"
    event_record(
        AutomationEvent.Kind.TRIGGER,
        f"Triggered {who} ({run.get_trigger_display()}), attempt {run.attempt}.",
        run=run,
        actor=actor,
        data={"trigger": run.trigger, "attempt": run.attempt, "version": run.action_version},
        at=at,
    )


def _dry_run(run: ActionRun, action: Action, *, now: datetime, actor: Any) -> ActionRun:
    """Record "would run" with the exact request (masked); nothing is sent."""
    run.state = ActionRun.State.DRY_RUN
    run.finished_at = now
    try:
        run.request = request_build(
            action, run.episode, run_id=None, attempt=run.attempt, now=now.timestamp()
        ).masked
        run.outcome = "Dry run: nothing was sent."
    except Exception as error:  # noqa: BLE001 (recorded, never raised)
        run.outcome = f"Dry run: the request cannot be built: {_safe(error)}"
    run.save()
    action.dry_run_remaining -= 1
    action.save(update_fields=["dry_run_remaining"])
    _trigger_event(run, actor=actor, at=now)
    event_record(
        AutomationEvent.Kind.DRY_RUN,
        f"Would run (dry run; {action.dry_run_remaining} left before it must be promoted).",
        run=run,
        actor=actor,
        data={"request": run.request},
        at=now,
    )
    logger.info(
        "automation action %s would run for episode %s (dry run)", action.pk, run.episode_id
    )
    return run


def _refuse(
    run: ActionRun, refusal: Refusal, *, switch: AutomationSwitch, actor: Any, now: datetime
) -> ActionRun:
    run.state = ActionRun.State.REFUSED
    run.guardrail = refusal.guardrail
    run.refusal = refusal.message[:500]
    run.finished_at = now
    run.save()
    event_record(
        AutomationEvent.Kind.REFUSED,
        refusal.message,
        run=run,
        actor=actor,
        guardrail=refusal.guardrail,
        at=now,
    )
    if refusal.trips_breaker and not switch.breaker_tripped:
        switch.breaker_tripped_at = now
        switch.breaker_reason = refusal.message[:300]
        switch.save(update_fields=["breaker_tripped_at", "breaker_reason"])
        event_record(
            AutomationEvent.Kind.BREAKER_TRIPPED,
            f"Circuit breaker tripped: {refusal.message}",
            guardrail=Guardrail.CIRCUIT_BREAKER,
            episode_id=run.episode_id,
            at=now,
        )
        logger.warning("automation circuit breaker tripped: %s", refusal.message)
    return run


def _break_glass_record(run: ActionRun, *, actor: Any, at: datetime | None = None) -> None:
    """Break glass skips the two-person rule: recorded, logged, and posted to the team chat."""
    event_record(
        AutomationEvent.Kind.BREAK_GLASS,
        f"Break glass (no second approver): {run.break_glass_reason}",
        run=run,
        actor=actor,
        guardrail=Guardrail.TWO_PERSON_RULE,
        at=at,
    )
    logger.warning(
        "automation break glass: action %s on episode %s by %s",
        run.action_id,
        run.episode_id,
        actor.get_username() if actor is not None else "-",
    )
    team = run.action.team
    if team.chat_webhook_url:
        text = (
            f"Break glass: {actor.get_username() if actor else 'someone'} ran the high-risk "
            f'action "{run.action.name}" without a second approver. Reason: '
            f"{run.break_glass_reason}"
        )
        url = team.chat_webhook_url
        transaction.on_commit(lambda: _chat_post(url, text, team_slug=team.slug))


def _chat_post(url: str, text: str, *, team_slug: str) -> None:
    try:
        response = outbound.post_json(url, {"text": text})
    except (outbound.OutboundRefused, outbound.OutboundFailed) as error:
        logger.warning("automation chat notice to team %s failed: %s", team_slug, error)
        return
    if not response.ok:
        logger.warning(
            "automation chat notice to team %s failed: HTTP %s", team_slug, response.status
        )


def _queue(run: ActionRun, *, actor: Any, at: datetime | None = None) -> None:
    event_record(AutomationEvent.Kind.QUEUED, "Queued for execution.", run=run, actor=actor, at=at)
    run_id = run.pk
    transaction.on_commit(lambda: _enqueue_execution(run_id))


def _enqueue_execution(run_id: int, *, countdown: float = 0) -> None:
    from alerts.automation.tasks import execute_run

    execute_run.apply_async(args=(run_id,), countdown=countdown)


# --- approval --------------------------------------------------------------------------------


def run_approve(*, run: ActionRun, user: Any, now: datetime | None = None) -> ActionRun:
    """Two-person rule: another member of the owning team approves; the budgets are checked
    now (they were not spent while the run waited)."""
    now = now or timezone.now()
    with transaction.atomic():
        switch = switch_get(lock=True)
        action = Action.objects.select_for_update().get(pk=run.action_id)
        run = (
            ActionRun.objects.select_for_update(of=("self",))
            .select_related("episode")
            .get(pk=run.pk)
        )
        if run.state != ActionRun.State.PENDING_APPROVAL:
            raise ValidationError(f"This run is {run.get_state_display().lower()}, not waiting.")
        refusal = guardrails.permission_refusal(user, action.team_id)
        if refusal is None and run.requested_by_id is not None and run.requested_by_id == user.pk:
            refusal = Refusal(
                Guardrail.TWO_PERSON_RULE,
                "The requester cannot approve their own run: a second member must.",
            )
        if refusal is not None:
            # Not the run's fault: the attempt stays open for a legitimate approver.
            event_record(
                AutomationEvent.Kind.REFUSED,
                f"Approval by {user.get_username()} refused: {refusal.message}",
                run=run,
                actor=user,
                guardrail=refusal.guardrail,
                at=now,
            )
            raise AutomationRefused(refusal)
        run.approved_by = user
        automatic = run.trigger == ActionRun.TriggerKind.AUTOMATIC
        refusal = guardrails.switch_refusal(switch, action, automatic=automatic)
        if refusal is None:
            refusal = guardrails.budget_refusal(
                switch=switch, action=action, episode=run.episode, automatic=automatic, now=now
            )
        event_record(
            AutomationEvent.Kind.APPROVED,
            f"Approved by {user.get_username()}.",
            run=run,
            actor=user,
            guardrail=Guardrail.TWO_PERSON_RULE,
            at=now,
        )
        if refusal is not None:
            return _refuse(run, refusal, switch=switch, actor=user, now=now)
        run.state = ActionRun.State.QUEUED
        run.queued_at = now
        run.save(update_fields=["approved_by", "state", "queued_at"])
        _queue(run, actor=user, at=now)
    run.refresh_from_db()
    return run


def run_reject(*, run: ActionRun, user: Any, reason: str = "") -> ActionRun:
    with transaction.atomic():
        run = (
            ActionRun.objects.select_for_update(of=("self",))
            .select_related("action")
            .get(pk=run.pk)
        )
        _refuse_unless_may_manage(user, run.action.team_id)
        if run.state != ActionRun.State.PENDING_APPROVAL:
            raise ValidationError(f"This run is {run.get_state_display().lower()}, not waiting.")
        run.state = ActionRun.State.REJECTED
        run.approved_by = user
        run.finished_at = timezone.now()
        run.outcome = (f"Rejected: {reason}" if reason else "Rejected.")[:500]
        run.save(update_fields=["state", "approved_by", "finished_at", "outcome"])
        event_record(AutomationEvent.Kind.REJECTED, run.outcome, run=run, actor=user)
    return run


# --- execution -------------------------------------------------------------------------------


def _safe(error: BaseException) -> str:
    """An exception's message for the log and the audit (core.outbound's never hold a URL
    path; the others are ours)."""
    return str(error)[:300] or type(error).__name__


def run_execute(run_id: int, *, now: datetime | None = None, send: Send | None = None) -> str:
    """Send the request of a queued run: idempotent (a finished run is left alone; a redelivered
    one that was running is sent again with the same idempotency key). Returns what to do next:
    "done", or "retry" (network error or 5xx, tries left).

    `now` and `send` record a run that happened at `now` (the demo's history): the request is
    signed at that moment and handed to `send` (core.outbound.send's signature) instead of the
    network.

    Two transactions: one before the request (claim the run, record the request) and one after
    it (response, outcome, failure count), so that a run costs few commits."""
    with transaction.atomic():
        try:
            run = (
                ActionRun.objects.select_for_update(of=("self",))
                .select_related("action", "episode__rule", "episode__system")
                .get(pk=run_id)
            )
        except ActionRun.DoesNotExist:
            return "done"
        if run.state not in ActionRun.ACTIVE:
            return "done"
        switch = switch_get()
        refusal = guardrails.switch_refusal(
            switch, run.action, automatic=run.trigger == ActionRun.TriggerKind.AUTOMATIC
        ) or guardrails.host_refusal(run.action.url)
        if refusal is not None:
            _finish(
                run,
                ActionRun.State.REFUSED,
                outcome=refusal.message,
                guardrail=refusal.guardrail,
                now=now,
            )
            return "done"
        action = run.action
        run.state = ActionRun.State.RUNNING
        run.tries += 1
        run.started_at = run.started_at or now or timezone.now()
        try:
            prepared = request_build(
                action,
                run.episode,
                run_id=run.pk,
                attempt=run.attempt,
                now=now.timestamp() if now else None,
            )
        except Exception as error:  # noqa: BLE001 (a template or a secret problem: a failed run)
            run.save(update_fields=["state", "tries", "started_at"])
            _finish(
                run,
                ActionRun.State.FAILED,
                outcome=f"The request cannot be built: {_safe(error)}",
                now=now,
            )
            return "done"
        run.request = prepared.masked
        run.save(update_fields=["state", "tries", "started_at", "request"])
        event_record(
            AutomationEvent.Kind.REQUEST,
            f"{prepared.method} {outbound_display(prepared.url)} (try {run.tries}).",
            run=run,
            data={"request": prepared.masked},
            at=now,
        )
    started = time.monotonic()
    try:
        response = (send or outbound.send)(
            prepared.method,
            prepared.url,
            body=prepared.body,
            headers=prepared.headers,
            timeout_seconds=float(action.timeout_seconds),
        )
    except outbound.OutboundRefused as error:
        _finish(
            run,
            ActionRun.State.FAILED,
            outcome=f"Refused: {_safe(error)}",
            guardrail=Guardrail.HOST_NOT_ALLOWED,
            duration=time.monotonic() - started,
            now=now,
        )
        return "done"
    except outbound.OutboundFailed as error:
        return _failed_or_retry(
            run, f"Network error: {_safe(error)}", time.monotonic() - started, now=now
        )
    duration = time.monotonic() - started
    excerpt = response.body[:EXCERPT_CHARS].decode("utf-8", errors="replace")
    with transaction.atomic():
        run.response_status = response.status
        run.response_excerpt = excerpt
        run.duration_ms = round(duration * 1000, 1)
        run.save(update_fields=["response_status", "response_excerpt", "duration_ms"])
        event_record(
            AutomationEvent.Kind.RESPONSE,
            f"HTTP {response.status} in {run.duration_ms} ms.",
            run=run,
            data={"status": response.status, "excerpt": excerpt[:500]},
            at=now,
        )
        if response.status >= 500:
            return _failed_or_retry(
                run, f"HTTP {response.status} (server error)", duration, now=now
            )
        if response.status != action.expected_status:
            _finish(
                run,
                ActionRun.State.FAILED,
                outcome=f"HTTP {response.status}, expected {action.expected_status}.",
                duration=duration,
                now=now,
            )
            return "done"
        _finish(
            run,
            ActionRun.State.SUCCEEDED,
            outcome=f"HTTP {response.status}.",
            duration=duration,
            now=now,
        )
    return "done"


def outbound_display(url: str) -> str:
    """Scheme, host and path of an action URL (no query, no userinfo) for the audit."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def _failed_or_retry(
    run: ActionRun, outcome: str, duration: float, *, now: datetime | None = None
) -> str:
    if run.tries <= settings.STEWARD_AUTOMATION_RETRIES:
        with transaction.atomic():
            ActionRun.objects.filter(pk=run.pk, state=ActionRun.State.RUNNING).update(
                state=ActionRun.State.QUEUED, outcome=outcome[:500]
            )
            event_record(
                AutomationEvent.Kind.RETRY,
                f"{outcome}; retry {run.tries} of {settings.STEWARD_AUTOMATION_RETRIES}.",
                run=run,
                at=now,
            )
        return "retry"
    _finish(run, ActionRun.State.FAILED, outcome=outcome, duration=duration, now=now)
    return "done"


def _finish(
    run: ActionRun,
    state: str,
    *,
    outcome: str,
    guardrail: str = "",
    duration: float | None = None,
    now: datetime | None = None,
) -> None:
    """Record the outcome, start the verification, and keep the failure count (auto-disable)."""
    now = now or timezone.now()
    action = run.action
    verify = state == ActionRun.State.SUCCEEDED and action.verify_resolution_seconds > 0
    with transaction.atomic():
        run.state = state
        run.outcome = outcome[:500]
        run.guardrail = guardrail or run.guardrail
        run.finished_at = now
        if duration is not None:
            run.duration_ms = round(duration * 1000, 1)
        if verify:
            run.verification = ActionRun.Verification.PENDING
            run.verify_deadline = now + timedelta(seconds=action.verify_resolution_seconds)
        run.save(
            update_fields=[
                "state",
                "outcome",
                "guardrail",
                "finished_at",
                "duration_ms",
                "verification",
                "verify_deadline",
            ]
        )
        kind = (
            AutomationEvent.Kind.REFUSED
            if state == ActionRun.State.REFUSED
            else AutomationEvent.Kind.OUTCOME
        )
        event_record(
            kind, f"{run.get_state_display()}: {outcome}", run=run, guardrail=guardrail, at=now
        )
        if state == ActionRun.State.FAILED:
            _count_failure(action, reason=f"{outcome}")
        elif state == ActionRun.State.SUCCEEDED and not verify:
            Action.objects.filter(pk=action.pk).update(consecutive_failures=0)
    logger.info("automation run %s of action %s: %s", run.pk, action.pk, state)
    if verify:
        transaction.on_commit(lambda: _verification_started(run))


def _count_failure(action: Action, *, reason: str) -> None:
    """K failed or non-resolving runs in a row disable the action (inside a transaction)."""
    locked = Action.objects.select_for_update().get(pk=action.pk)
    locked.consecutive_failures = F("consecutive_failures") + 1
    locked.save(update_fields=["consecutive_failures"])
    locked.refresh_from_db(fields=["consecutive_failures"])
    limit = settings.STEWARD_AUTOMATION_DISABLE_AFTER_FAILURES
    if locked.consecutive_failures >= limit and not locked.disabled:
        _disable(
            locked,
            reason=f"{locked.consecutive_failures} failed or non-resolving runs in a row "
            f"(last: {reason})",
        )
        _automatic_rules_forget()


# --- verification ----------------------------------------------------------------------------


def _verification_started(run: ActionRun) -> None:
    with contextlib.suppress(Exception):  # Redis down: it expires, or beat settles
        cache.set(VERIFICATIONS_PENDING_KEY, 1, timeout=None)
    flags_forget()
    if run_verify(run.pk):
        return
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from alerts.automation.tasks import verify_run

        wait = (
            max(1.0, (run.verify_deadline - timezone.now()).total_seconds())
            if run.verify_deadline
            else 1.0
        )
        verify_run.apply_async(args=(run.pk,), countdown=min(wait, VERIFY_POLL_SECONDS))


VERIFY_POLL_SECONDS = 10.0


def run_verify(run_id: int, *, now: datetime | None = None) -> bool:
    """Settle a pending verification: resolved when the episode ended by the deadline, not
    resolved once the deadline passed. True when settled (or nothing to do)."""
    now = now or timezone.now()
    with transaction.atomic():
        try:
            run = (
                ActionRun.objects.select_for_update(of=("self",))
                .select_related("action", "episode")
                .get(pk=run_id)
            )
        except ActionRun.DoesNotExist:
            return True
        if run.verification != ActionRun.Verification.PENDING or run.verify_deadline is None:
            return True
        ends_at = run.episode.ends_at
        if ends_at is not None and ends_at <= run.verify_deadline:
            result = ActionRun.Verification.RESOLVED
        elif now >= run.verify_deadline:
            result = ActionRun.Verification.NOT_RESOLVED
        else:
            return False
        run.verification = result
        run.verified_at = now
        run.save(update_fields=["verification", "verified_at"])
        event_record(
            AutomationEvent.Kind.VERIFICATION,
            f"Verification: {run.get_verification_display().lower()}.",
            run=run,
            data={"verification": result},
            at=now,
        )
        if result == ActionRun.Verification.NOT_RESOLVED:
            _count_failure(run.action, reason="the alert did not resolve")
        else:
            Action.objects.filter(pk=run.action_id).update(consecutive_failures=0)
    return True


def verifications_settle(*, now: datetime | None = None) -> int:
    """Settle every pending verification that can be; returns how many are still pending."""
    pending = list(
        ActionRun.objects.filter(verification=ActionRun.Verification.PENDING).values_list(
            "pk", flat=True
        )
    )
    left = sum(1 for run_id in pending if not run_verify(run_id, now=now))
    if not left:
        with contextlib.suppress(Exception):  # Redis down: it expires, or beat settles
            cache.delete(VERIFICATIONS_PENDING_KEY)
        flags_forget()
    return left


# --- automatic triggers ----------------------------------------------------------------------


def _automatic_rules_forget() -> None:
    with contextlib.suppress(Exception):  # Redis down: it expires, or beat settles
        cache.delete(AUTOMATIC_RULES_KEY)
    flags_forget()


# What every delivery that changed episodes asks the cache (is a verification pending, which
# rules have automatic actions), remembered in this process for FLAGS_MEMORY_SECONDS: a burst
# of deliveries costs one Redis round trip per process and second, not one each. A change made
# in this process (a verification started, an automatic action saved) forgets it at once; one
# made in another process is seen within the second.
FLAGS_MEMORY_SECONDS = 1.0
_flags: tuple[float, dict[str, Any]] | None = None


def automation_flags() -> dict[str, Any] | None:
    """{VERIFICATIONS_PENDING_KEY, TRIGGERS_PENDING_KEY, AUTOMATIC_RULES_KEY: …} as the cache
    holds them (missing
    keys left out), or None when the cache is unavailable."""
    global _flags  # noqa: PLW0603 (the process's memory)
    now = time.monotonic()
    known = _flags
    if known is not None and known[0] > now:
        return known[1]
    try:
        values = cache.get_many(
            [VERIFICATIONS_PENDING_KEY, TRIGGERS_PENDING_KEY, AUTOMATIC_RULES_KEY]
        )
    except Exception:  # noqa: BLE001 (Redis down: the caller decides)
        return None
    _flags = (now + FLAGS_MEMORY_SECONDS, values)
    return values


def flags_remember(key: str, value: Any) -> None:
    """A value this process just stored in the cache under `key` (it knows it already)."""
    known = _flags
    if known is not None:
        known[1][key] = value


def flags_forget() -> None:
    global _flags  # noqa: PLW0603
    _flags = None


def automatic_trigger(*, action_id: int, episode_id: int) -> ActionRun | None:
    """The delayed automatic trigger: only if the episode still fires, once per episode."""
    try:
        action = Action.objects.get(pk=action_id)
        episode = Episode.objects.get(pk=episode_id)
    except (Action.DoesNotExist, Episode.DoesNotExist):
        return None
    if ActionRun.objects.filter(
        action=action, episode=episode, trigger=ActionRun.TriggerKind.AUTOMATIC
    ).exists():
        return None  # a redelivered trigger task
    if episode.ends_at is not None:
        event_record(
            AutomationEvent.Kind.CANCELLED,
            f"Not run: the alert resolved within the {action.auto_delay_seconds} s delay.",
            action=action,
            episode_id=episode.pk,
        )
        return None
    return run_trigger(action=action, episode=episode, kind=ActionRun.TriggerKind.AUTOMATIC)


def automatic_trigger_schedule(
    *, action: Action, episode: Episode, now: datetime | None = None
) -> AutomationEvent:
    """Eager mode (no broker holds a delayed task): record the delayed automatic trigger in the
    audit log; `automatic_triggers_due` runs it once the delay ran out, if the alert still fires.
    The record is the schedule, so a restart loses nothing."""
    now = now or timezone.now()
    due = now + timedelta(seconds=action.auto_delay_seconds)
    event = event_record(
        AutomationEvent.Kind.TRIGGER,
        f"Scheduled automatically: runs at {due:%Y-%m-%d %H:%M:%S} UTC if the alert still "
        f"fires ({action.auto_delay_seconds} s delay).",
        action=action,
        episode_id=episode.pk,
        data={"scheduled": True, "due": due.isoformat()},
    )
    with contextlib.suppress(Exception):  # Redis down: the next flag set or beat finds it
        cache.set(TRIGGERS_PENDING_KEY, 1, timeout=None)
    flags_forget()
    return event


def automatic_triggers_due(*, now: datetime | None = None) -> int:
    """Run the scheduled automatic triggers whose delay ran out (each once: a run, or the
    "resolved within the delay" cancellation, ends it); returns how many still wait."""
    now = now or timezone.now()
    longest = Action.objects.filter(trigger=Action.Trigger.AUTOMATIC).aggregate(
        m=Max("auto_delay_seconds")
    )["m"]
    since = now - timedelta(seconds=longest or 0) - SCHEDULED_GRACE
    scheduled = list(
        AutomationEvent.objects.filter(
            kind=AutomationEvent.Kind.TRIGGER, run=None, at__gte=since, data__scheduled=True
        )
        .order_by("at", "id")
        .values_list("action_id", "episode_id", "data")
    )
    action_ids = {a for a, _, _ in scheduled}
    episode_ids = {e for _, e, _ in scheduled}
    settled = set(
        ActionRun.objects.filter(
            action_id__in=action_ids,
            episode_id__in=episode_ids,
            trigger=ActionRun.TriggerKind.AUTOMATIC,
        ).values_list("action_id", "episode_id")
    ) | set(
        AutomationEvent.objects.filter(
            kind=AutomationEvent.Kind.CANCELLED,
            action_id__in=action_ids,
            episode_id__in=episode_ids,
        ).values_list("action_id", "episode_id")
    )
    waiting = 0
    for action_id, episode_id, data in scheduled:
        if (action_id, episode_id) in settled or action_id is None or episode_id is None:
            continue
        due = parse_datetime(str(data.get("due", "")))
        if due is not None and due > now:
            waiting += 1
            continue
        settled.add((action_id, episode_id))
        with transaction.atomic():
            # The switch row first (the guardrails' lock order): two deliveries checking at
            # once run a trigger once (automatic_trigger sees the other's run).
            switch_get(lock=True)
            automatic_trigger(action_id=action_id, episode_id=episode_id)
    if not waiting:
        with contextlib.suppress(Exception):  # Redis down: it is set again when needed
            cache.delete(TRIGGERS_PENDING_KEY)
        flags_forget()
    return waiting
