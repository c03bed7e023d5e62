from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from core.outbound import validate_outbound_url
from fleet.validators import validate_link_template, validate_timezone


class Team(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=120)
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="tz database name; business, off and sleep hours are counted in it.",
    )
    chat_channel = models.CharField(max_length=200, blank=True, help_text="e.g. #fraud-ml-oncall")
    chat_webhook_url = models.URLField(
        blank=True,
        validators=[validate_outbound_url],
        help_text="Incoming webhook where the weekly review agenda is posted.",
    )
    email = models.EmailField(blank=True)
    escalation_url = models.URLField(blank=True, help_text="Pager or escalation policy link.")
    members: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        LEAD = "lead", "Lead"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team__name", "-role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="membership_unique_team_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"


class AISystem(models.Model):
    class Kind(models.TextChoices):
        MODEL = "model", "Model"
        AGENT = "agent", "Agent"
        PIPELINE = "pipeline", "Pipeline"
        SERVICE = "service", "Service"

    class Tier(models.TextChoices):
        CRITICAL = "critical", "Critical"
        HIGH = "high", "High"
        STANDARD = "standard", "Standard"

    class Lifecycle(models.TextChoices):
        ACTIVE = "active", "Active"
        DEPRECATED = "deprecated", "Deprecated"
        RETIRED = "retired", "Retired"

    slug = models.SlugField(unique=True, help_text="Matches the `model` or `system` alert label.")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MODEL)
    environment = models.CharField(max_length=40, default="prod")
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.STANDARD)
    lifecycle = models.CharField(max_length=12, choices=Lifecycle.choices, default=Lifecycle.ACTIVE)
    owner_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="systems"
    )
    business_owner = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    repository_url = models.URLField(blank=True)
    model_registry_url = models.URLField(blank=True)
    dashboard_url = models.CharField(
        max_length=1000,
        blank=True,
        validators=[validate_link_template],
        help_text="Dashboard link; may use {start}, {end} and label placeholders.",
    )
    trace_url_template = models.CharField(
        max_length=1000,
        blank=True,
        validators=[validate_link_template],
        help_text="Traces (Jaeger, Tempo) for the firing window: {start}, {end}, {label}.",
    )
    log_url_template = models.CharField(
        max_length=1000,
        blank=True,
        validators=[validate_link_template],
        help_text="Logs (Loki, Kibana) for the firing window: {start}, {end}, {label}.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "AI system"
        indexes = [
            models.Index(fields=["owner_team", "lifecycle"], name="aisystem_team_lifecycle"),
            models.Index(fields=["kind"], name="aisystem_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.environment})"
