"""Runbook automation: actions attached to a runbook step, their runs, and the audit log.

An `Action` is an HTTP call that remediates what a runbook step describes. It belongs to a team
(who may change, run and approve it) and to a runbook, and so to every rule whose runbook that
is. Every trigger creates an `ActionRun` (unique per action, episode and attempt, so a redelivered
task cannot run twice) inside a transaction that holds row locks on the action and on the
`AutomationSwitch` singleton: the guardrails (services/guardrails.py) count earlier runs under
those locks, so concurrent triggers cannot exceed a budget. `AutomationEvent` is the append-only
audit log of everything that happened.
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.outbound import validate_outbound_url


def _default_dry_runs() -> int:
    return int(settings.STEWARD_AUTOMATION_DRY_RUN_TRIGGERS)


class Action(models.Model):
    class Risk(models.TextChoices):
        LOW = "low", "Low"
        HIGH = "high", "High (two-person rule)"

    class Method(models.TextChoices):
        POST = "POST", "POST"
        PUT = "PUT", "PUT"
        PATCH = "PATCH", "PATCH"
        DELETE = "DELETE", "DELETE"

    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        AUTOMATIC = "automatic", "Automatic"

    team = models.ForeignKey(
        "fleet.Team", on_delete=models.PROTECT, related_name="automation_actions"
    )
    runbook = models.ForeignKey(
        "runbooks.Runbook", on_delete=models.PROTECT, related_name="automation_actions"
    )
    step = models.SlugField(
        max_length=200, blank=True, help_text="Anchor (slug) of the runbook heading it automates."
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    risk = models.CharField(max_length=4, choices=Risk.choices, default=Risk.LOW)
    method = models.CharField(max_length=6, choices=Method.choices, default=Method.POST)
    url = models.URLField(max_length=2000, validators=[validate_outbound_url])
    headers = models.JSONField(
        default=dict, blank=True, help_text="Extra request headers (not secret: shown to all)."
    )
    body_template = models.TextField(
        blank=True,
        help_text="JSON body; Jinja2 (sandboxed) with labels, annotations, episode, rule, run.",
    )
    # Fernet ciphertext of {"signing_key": ..., "bearer_token": ...} (core/secrets.py); never
    # shown again once set.
    secret_ciphertext = models.TextField(blank=True, editable=False)
    secret_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(60)]
    )
    expected_status = models.PositiveSmallIntegerField(
        default=200, validators=[MinValueValidator(100), MaxValueValidator(599)]
    )
    verify_resolution_seconds = models.PositiveIntegerField(
        default=0, help_text="Wait up to this long for the episode to resolve; 0: no check."
    )
    trigger = models.CharField(max_length=9, choices=Trigger.choices, default=Trigger.MANUAL)
    auto_delay_seconds = models.PositiveIntegerField(
        default=0, help_text="Automatic: run only if the alert still fires after this delay."
    )
    label_filter = models.JSONField(
        default=dict,
        blank=True,
        help_text='Automatic: label → allowed values, e.g. {"env": ["prod"]}.',
    )
    max_runs_per_hour = models.PositiveIntegerField(default=6, validators=[MinValueValidator(1)])
    max_concurrent = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    cooldown_seconds = models.PositiveIntegerField(
        default=600, help_text="Per alert series (rule + fingerprint)."
    )
    dry_run_remaining = models.PositiveIntegerField(
        default=_default_dry_runs, help_text="Triggers left in dry run until promoted."
    )
    disabled = models.BooleanField(default=False, help_text="Per-action kill switch.")
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "name"], name="automation_action_unique"),
        ]
        indexes = [models.Index(fields=["trigger", "disabled"], name="automation_action_trigger")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_ciphertext)

    @property
    def in_dry_run(self) -> bool:
        return self.dry_run_remaining > 0


class ActionRun(models.Model):
    class TriggerKind(models.TextChoices):
        MANUAL = "manual", "Manual"
        AUTOMATIC = "automatic", "Automatic"
        BREAK_GLASS = "break_glass", "Break glass"

    class State(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Waiting for approval"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DRY_RUN = "dry_run", "Dry run (would run)"
        REFUSED = "refused", "Refused by a guardrail"
        REJECTED = "rejected", "Approval rejected"
        CANCELLED = "cancelled", "Cancelled (episode resolved before the delay)"

    class Verification(models.TextChoices):
        NONE = "", "Not checked"
        PENDING = "pending", "Waiting for the alert to resolve"
        RESOLVED = "resolved", "Alert resolved"
        NOT_RESOLVED = "not_resolved", "Alert did not resolve"

    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="runs")
    action_version = models.PositiveIntegerField()
    # No database constraint: episodes are partitioned on PostgreSQL (alerts.0011), and
    # retention deletes an episode's runs itself (alerts/retention/services.py).
    episode = models.ForeignKey(
        "alerts.Episode",
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="automation_runs",
    )
    attempt = models.PositiveIntegerField()
    trigger = models.CharField(max_length=11, choices=TriggerKind.choices)
    state = models.CharField(max_length=16, choices=State.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    break_glass_reason = models.TextField(blank=True)
    guardrail = models.CharField(max_length=32, blank=True, help_text="Which one refused it.")
    refusal = models.CharField(max_length=500, blank=True)
    # The request as sent (or as it would be sent), secrets masked.
    request = models.JSONField(default=dict, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    outcome = models.CharField(max_length=500, blank=True)
    verification = models.CharField(
        max_length=12, choices=Verification.choices, default=Verification.NONE, blank=True
    )
    verify_deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "episode", "attempt"], name="automation_run_unique_attempt"
            ),
        ]
        indexes = [
            models.Index(fields=["action", "queued_at"], name="automation_run_action_queued"),
            models.Index(fields=["state"], name="automation_run_state"),
            models.Index(fields=["trigger", "queued_at"], name="automation_run_trigger_queued"),
            models.Index(fields=["episode", "-created_at"], name="automation_run_episode"),
        ]

    def __str__(self) -> str:
        return f"{self.action} on episode {self.episode_id} #{self.attempt}: {self.state}"

    # States that hold (or held) a slot of a budget: they were let through the guardrails.
    EXECUTED = (State.QUEUED, State.RUNNING, State.SUCCEEDED, State.FAILED)
    ACTIVE = (State.QUEUED, State.RUNNING)
    FINISHED = (
        State.SUCCEEDED,
        State.FAILED,
        State.DRY_RUN,
        State.REFUSED,
        State.REJECTED,
        State.CANCELLED,
    )


class AppendOnlyError(Exception):
    """The automation audit log is append-only."""


class AutomationEventQuerySet(models.QuerySet["AutomationEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("automation events cannot be changed")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("automation events cannot be deleted")


class AutomationEvent(models.Model):
    """One line of the audit log. Never updated or deleted: the model refuses, and on
    PostgreSQL a trigger refuses UPDATE and DELETE (migration 0002)."""

    class Kind(models.TextChoices):
        ACTION_CREATED = "action_created", "Action created"
        ACTION_CHANGED = "action_changed", "Action changed (back to dry run)"
        SECRET_SET = "secret_set", "Secret set"
        PROMOTED = "promoted", "Promoted out of dry run"
        TRIGGER = "trigger", "Triggered"
        DRY_RUN = "dry_run", "Dry run (would run)"
        REFUSED = "refused", "Refused by a guardrail"
        APPROVAL_REQUESTED = "approval_requested", "Approval requested"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Approval rejected"
        BREAK_GLASS = "break_glass", "Break glass"
        QUEUED = "queued", "Queued"
        REQUEST = "request", "Request sent"
        RESPONSE = "response", "Response"
        RETRY = "retry", "Retry scheduled"
        OUTCOME = "outcome", "Outcome"
        VERIFICATION = "verification", "Verification"
        CANCELLED = "cancelled", "Cancelled"
        DISABLED = "disabled", "Action disabled"
        ENABLED = "enabled", "Action enabled"
        KILL_SWITCH = "kill_switch", "Global kill switch changed"
        BREAKER_TRIPPED = "breaker_tripped", "Circuit breaker tripped"
        BREAKER_RESET = "breaker_reset", "Circuit breaker reset"

    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Plain ids (no database constraint, nothing cascades): the log outlives what it names.
    action = models.ForeignKey(
        Action,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="events",
    )
    run = models.ForeignKey(
        ActionRun,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="events",
    )
    episode = models.ForeignKey(
        "alerts.Episode",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="automation_events",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True, help_text="Empty: Steward itself.")
    guardrail = models.CharField(max_length=32, blank=True)
    message = models.CharField(max_length=1000)
    data = models.JSONField(default=dict, blank=True)

    objects = AutomationEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["action", "-at"], name="automation_event_action"),
            models.Index(fields=["episode", "-at"], name="automation_event_episode"),
            models.Index(fields=["run"], name="automation_event_run"),
            models.Index(fields=["-at"], name="automation_event_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}: {self.message}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("automation events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("automation events cannot be deleted")


class AutomationSwitch(models.Model):
    """The singleton (pk 1): global kill switch and fleet-wide circuit breaker.

    Every guarded trigger locks this row first, so that the fleet-wide counts (the breaker, the
    concurrency per system) are read and written by one transaction at a time.
    """

    SINGLETON_PK = 1

    enabled = models.BooleanField(default=True, help_text="Global kill switch: off stops all.")
    reason = models.CharField(max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(null=True, blank=True)
    breaker_tripped_at = models.DateTimeField(
        null=True, blank=True, help_text="Set: automatic runs are paused until reset."
    )
    breaker_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "automation switch"

    def __str__(self) -> str:
        state = "on" if self.enabled else "off (kill switch)"
        if self.breaker_tripped_at is not None:
            state += ", circuit breaker tripped"
        return f"Automation {state}"

    @property
    def breaker_tripped(self) -> bool:
        return self.breaker_tripped_at is not None
