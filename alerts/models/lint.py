from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone


class LintCheck(models.TextChoices):
    """The checks of the lint gate (README "Lint gate"); a waiver names one of them."""

    YAML = "yaml", "YAML syntax"
    STRUCTURE = "structure", "Rule file structure"
    OWNER = "owner", "Known owner team"
    SEVERITY = "severity", "Allowed severity"
    LAYER = "layer", "Valid layer"
    SUMMARY = "summary", "Summary annotation"
    RUNBOOK = "runbook_url", "Runbook URL resolves to a Steward runbook"
    FOR = "for", "Page severity waits at least 2 minutes"
    PROMQL = "promql", "PromQL expression shape"
    FORECAST = "forecast", "Forecast: would fire too often"


class WaiverQuerySet(models.QuerySet["Waiver"]):
    def active(self, *, now: datetime | None = None) -> WaiverQuerySet:
        return self.filter(expires_at__gt=now or timezone.now())


class Waiver(models.Model):
    """An approved exception: one alert, one lint check, until `expires_at`.

    When it expires the violation fails the gate again, so exceptions cannot outlive the reason
    they were granted for.
    """

    alertname = models.CharField(max_length=200)
    # Not named `check`: that would shadow Model.check(); the API calls it "check".
    lint_check = models.CharField(max_length=12, choices=LintCheck.choices)
    reason = models.TextField()
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="lint_waivers",
    )
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = WaiverQuerySet.as_manager()

    class Meta:
        ordering = ["alertname", "lint_check", "-expires_at"]
        indexes = [models.Index(fields=["alertname", "lint_check"], name="waiver_alert_check")]

    def __str__(self) -> str:
        return f"waiver {self.lint_check} for {self.alertname} until {self.expires_at:%Y-%m-%d}"

    def is_active(self, *, now: datetime | None = None) -> bool:
        return self.expires_at > (now or timezone.now())
