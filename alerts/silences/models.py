"""The silence ledger: Steward's own history of every Alertmanager silence."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from alerts.silences.matchers import Matcher, matchers_from_api, matchers_text


class SilenceQuerySet(models.QuerySet["Silence"]):
    def live(self) -> SilenceQuerySet:
        """Active or pending, and still listed by Alertmanager."""
        return self.filter(
            state__in=[Silence.State.ACTIVE, Silence.State.PENDING], vanished_at__isnull=True
        )

    def for_teams(self, team_ids: list[int]) -> SilenceQuerySet:
        return self.filter(teams__in=team_ids).distinct()


class Silence(models.Model):
    """One Alertmanager silence, as last seen, plus what Steward learned about it.

    `matchers` holds Alertmanager's API v2 shape (`name`, `value`, `isRegex`, `isEqual`).
    `rules`/`teams` are the catalogued rules its matchers cover (`alerts.silences.matchers.
    rule_coverage`) and their owner teams, recomputed at every sync.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        PENDING = "pending", "Pending"
        EXPIRED = "expired", "Expired"

    alertmanager_id = models.CharField(max_length=64, unique=True)
    matchers = models.JSONField(default=list)
    created_by = models.CharField(max_length=500, blank=True)
    comment = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices)
    alertmanager_updated_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    vanished_at = models.DateTimeField(
        null=True, blank=True, help_text="When Alertmanager stopped listing it."
    )
    expired_early_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was ended before its planned end."
    )
    expired_by = models.CharField(
        max_length=200, blank=True, help_text="Who ended it early, when Steward knows."
    )
    # The last time the silence matched an alert that was firing (recorded episodes).
    last_matched_at = models.DateTimeField(null=True, blank=True)
    rules: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "alerts.AlertRule", through="SilenceCoverage", related_name="silences", blank=True
    )
    teams: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "fleet.Team", related_name="silences", blank=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = SilenceQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        indexes = [
            models.Index(fields=["state", "ends_at"], name="silence_state_ends"),
            models.Index(fields=["created_by"], name="silence_created_by"),
        ]

    def __str__(self) -> str:
        return f"silence {self.alertmanager_id}"

    @property
    def matcher_list(self) -> list[Matcher]:
        return matchers_from_api(self.matchers)

    @property
    def matchers_display(self) -> str:
        return matchers_text(self.matcher_list)

    @property
    def is_live(self) -> bool:
        return self.vanished_at is None and self.state != self.State.EXPIRED


class SilenceCoverage(models.Model):
    """A catalogued rule a silence covers: all of its alerts (full) or only some (partial:
    the silence also matches on labels the rule does not fix, such as `instance`)."""

    class Kind(models.TextChoices):
        FULL = "full", "All its alerts"
        PARTIAL = "partial", "Some of its alerts"

    silence = models.ForeignKey(Silence, on_delete=models.CASCADE, related_name="coverage")
    rule = models.ForeignKey(
        "alerts.AlertRule", on_delete=models.CASCADE, related_name="silence_coverage"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["silence", "rule"], name="silencecoverage_unique")
        ]

    def __str__(self) -> str:
        return f"{self.silence} covers rule #{self.rule_id} ({self.kind})"


class SilenceEvent(models.Model):
    """Append-only history of a silence (Alertmanager keeps none: its users ask since 2016)."""

    class Kind(models.TextChoices):
        SEEN = "seen", "First seen"
        CHANGED = "changed", "Changed"
        EXPIRED_EARLY = "expired_early", "Expired before its end"
        ENDED = "ended", "Ended as planned"
        VANISHED = "vanished", "Gone from Alertmanager"
        REAPPEARED = "reappeared", "Listed again"
        ENFORCED = "enforced", "Expired by policy"
        WOULD_ENFORCE = "would_enforce", "Would be expired by policy (dry run)"

    silence = models.ForeignKey(Silence, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    # For CHANGED: {"field": [old, new]} of what changed (ends_at, comment, matchers, …).
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["silence", "at"], name="silenceevent_silence_at")]

    def __str__(self) -> str:
        return f"{self.silence}: {self.kind} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Silence events are append-only.")
        super().save(*args, **kwargs)


class TeamSilenceEnforcement(models.Model):
    """Per team: may Steward expire the team's orphaned or over-long silences itself?

    Off unless a team turns it on; dry run lists what would be expired without touching
    Alertmanager. A silence covering several teams is enforced only when every team it covers
    has enforcement on (the strictest agreement, not the loosest)."""

    class Mode(models.TextChoices):
        OFF = "off", "Off"
        DRY_RUN = "dry_run", "Dry run (list only)"
        ENFORCE = "enforce", "Enforce (expire)"

    team = models.OneToOneField(
        "fleet.Team", on_delete=models.CASCADE, related_name="silence_enforcement"
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.OFF)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "team silence enforcement"

    def __str__(self) -> str:
        return f"{self.team}: {self.mode}"
