from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class Delivery(models.Model):
    """One inbound notification, kept as received (also when rejected) for audit and replay."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    source = models.CharField(max_length=12)
    integration = models.ForeignKey(
        "tokens.Integration",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    token = models.ForeignKey(
        "tokens.ApiToken",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    body = models.TextField(blank=True)
    content_type = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error = models.TextField(blank=True)
    group_key = models.CharField(max_length=1000, blank=True)
    alerts_count = models.PositiveIntegerField(default=0)
    opened_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    closed_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    truncated_alerts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["source", "outcome"], name="delivery_source_outcome")]

    def __str__(self) -> str:
        return f"{self.source} delivery #{self.pk} ({self.outcome})"


class EpisodeQuerySet(models.QuerySet["Episode"]):
    def open(self) -> EpisodeQuerySet:
        return self.filter(ends_at__isnull=True)

    def overlapping(self, start: datetime, end: datetime) -> EpisodeQuerySet:
        """Episodes firing at some point inside [start, end)."""
        return self.filter(starts_at__lt=end).filter(
            models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=start)
        )


class Episode(models.Model):
    """One firing of one alert instance, from starts_at until ends_at (null while firing)."""

    rule = models.ForeignKey("alerts.AlertRule", on_delete=models.CASCADE, related_name="episodes")
    fingerprint = models.CharField(max_length=32)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=12)
    system = models.ForeignKey(
        "fleet.AISystem", null=True, blank=True, on_delete=models.SET_NULL, related_name="episodes"
    )
    generator_url = models.URLField(max_length=2000, blank=True)
    # No database FK constraints point at Delivery or Episode: on PostgreSQL both tables are
    # partitioned by time (alerts/retention/partitions.py), and a foreign key to a partitioned
    # table would need the partition key in its target. The ORM still cascades (and sets null)
    # on delete; retention deletes children first (alerts/retention/services.py).
    first_delivery = models.ForeignKey(
        Delivery,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
    )
    last_notified_at = models.DateTimeField(null=True, blank=True)
    notification_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = EpisodeQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["fingerprint", "starts_at"], name="episode_unique_fingerprint_start"
            ),
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True)
                | models.Q(ends_at__gte=models.F("starts_at")),
                name="episode_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["rule", "starts_at"], name="episode_rule_start"),
            models.Index(fields=["starts_at"], name="episode_start"),
            models.Index(fields=["system", "starts_at"], name="episode_system_start"),
            # The noise evaluation finds episodes that started before a week and ended inside
            # it by their end (alerts/noise/statistics.py).
            models.Index(fields=["ends_at"], name="episode_end"),
            models.Index(
                fields=["rule"],
                condition=models.Q(ends_at__isnull=True),
                name="episode_open_by_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rule.alertname} {self.fingerprint} @ {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_firing(self) -> bool:
        return self.ends_at is None

    def duration_seconds(self, *, now: datetime | None = None) -> float:
        end = self.ends_at or now or timezone.now()
        return max(0.0, (end - self.starts_at).total_seconds())


class Engagement(models.Model):
    """Someone looked at or acted on an episode (runbook page view, feedback, API)."""

    class Kind(models.TextChoices):
        RUNBOOK_VIEW = "runbook_view", "Opened the runbook page"
        FEEDBACK = "feedback", "Gave feedback"

    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, related_name="engagements", db_constraint=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="engagements",
    )
    kind = models.CharField(max_length=14, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["episode", "at"], name="engagement_episode_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.episode_id} by {self.user_id}"


class Feedback(models.Model):
    """An on-call engineer's verdict on an episode; one per user and episode, changeable."""

    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, related_name="feedback", db_constraint=False
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_feedback"
    )
    actionable = models.BooleanField()
    note = models.TextField(blank=True, help_text="What was done.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "feedback"
        constraints = [
            models.UniqueConstraint(fields=["episode", "user"], name="feedback_one_per_user"),
        ]

    def __str__(self) -> str:
        verdict = "actionable" if self.actionable else "noise"
        return f"{verdict} on episode {self.episode_id}"
