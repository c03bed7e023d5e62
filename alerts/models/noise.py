from __future__ import annotations

from django.db import models
from django.utils import timezone


class RuleWeek(models.Model):
    """Noise statistics of one rule in one ISO week (README "What it computes")."""

    rule = models.ForeignKey("alerts.AlertRule", on_delete=models.CASCADE, related_name="weeks")
    week = models.CharField(max_length=8, help_text="ISO week, e.g. 2026-W47.")
    fires = models.PositiveIntegerField(default=0)
    firing_seconds = models.FloatField(default=0)
    median_duration_seconds = models.FloatField(null=True, blank=True)
    engaged_ratio = models.FloatField(null=True, blank=True)
    transient_ratio = models.FloatField(null=True, blank=True)
    flaps = models.PositiveIntegerField(default=0)
    interruptions_business = models.PositiveIntegerField(default=0)
    interruptions_off = models.PositiveIntegerField(default=0)
    interruptions_sleep = models.PositiveIntegerField(default=0)
    feedback_count = models.PositiveIntegerField(default=0)
    actionable_ratio = models.FloatField(null=True, blank=True)
    longest_open_seconds = models.FloatField(default=0)
    evaluated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week", "rule_id"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "week"], name="ruleweek_unique_rule_week"),
        ]
        indexes = [models.Index(fields=["week"], name="ruleweek_week")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.week}: {self.fires} fires"

    @property
    def interruptions(self) -> int:
        return self.interruptions_business + self.interruptions_off + self.interruptions_sleep


class Flag(models.TextChoices):
    NOISY = "noisy", "Noisy"
    FLAPPING = "flapping", "Flapping"
    TRANSIENT = "transient", "Transient"
    IGNORED = "ignored", "Ignored"
    UNACTIONABLE = "unactionable", "Unactionable"
    SLEEP_THIEF = "sleep_thief", "Sleep thief"
    STUCK = "stuck", "Stuck"
    DUPLICATE = "duplicate", "Duplicate"
    UNOWNED = "unowned", "Unowned"
    NO_RUNBOOK = "no_runbook", "No runbook"
    STALE_RUNBOOK = "stale_runbook", "Stale runbook"
    LONG_MUTED = "long_muted", "Muted too long"
    SILENT = "silent", "Silent"
    UNCATALOGUED = "uncatalogued", "Uncatalogued"


class RuleFlag(models.Model):
    """A reason a rule fell short of the doctrine in a week, with the numbers that raised it."""

    rule = models.ForeignKey("alerts.AlertRule", on_delete=models.CASCADE, related_name="flags")
    week = models.CharField(max_length=8)
    flag = models.CharField(max_length=14, choices=Flag.choices)
    evidence = models.JSONField(
        default=dict, help_text='The numbers behind the flag, e.g. {"fires": 47, "median_4w": 15}.'
    )
    message = models.CharField(max_length=300, help_text="The evidence in plain words.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["week", "rule_id", "flag"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "week", "flag"], name="ruleflag_unique"),
        ]
        indexes = [models.Index(fields=["week", "flag"], name="ruleflag_week_flag")]

    def __str__(self) -> str:
        return f"{self.flag} on {self.rule_id} in {self.week}"


class CoFiring(models.Model):
    """Share of `rule`'s episodes in a week that started within the window of one of `other`'s."""

    week = models.CharField(max_length=8)
    rule = models.ForeignKey("alerts.AlertRule", on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey("alerts.AlertRule", on_delete=models.CASCADE, related_name="+")
    episodes = models.PositiveIntegerField()
    co_fired = models.PositiveIntegerField()
    ratio = models.FloatField()

    class Meta:
        ordering = ["week", "-ratio"]
        constraints = [
            models.UniqueConstraint(fields=["week", "rule", "other"], name="cofiring_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}~{self.other_id} {self.week}: {self.ratio:.2f}"


class Evaluation(models.Model):
    """One run of the noise evaluation for a week: when asked, started, finished, and how."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    # The Monday run of the week that just ended: the one that opens its review.
    WEEKLY_TRIGGER = "weekly"

    week = models.CharField(max_length=8)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    trigger = models.CharField(
        max_length=40,
        blank=True,
        default="",
        help_text=(
            "The scheduled run that asked for it (`hourly@2026-12-04T18:00Z`, `weekly`); blank "
            "when a change or a person did. A week is evaluated once per trigger."
        ),
    )
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rules_evaluated = models.PositiveIntegerField(default=0)
    flags_raised = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [models.Index(fields=["week", "status"], name="evaluation_week_status")]
        constraints = [
            # Two beats (or two workers given the same scheduled request) cannot both evaluate
            # a week for one tick: the second claim of (week, trigger) fails. A failed run
            # leaves the index, so its retry can claim the tick again.
            models.UniqueConstraint(
                fields=["week", "trigger"],
                condition=~models.Q(trigger="") & ~models.Q(status="failed"),
                name="evaluation_once_per_trigger",
            ),
        ]

    def __str__(self) -> str:
        return f"evaluation {self.week} ({self.status})"
