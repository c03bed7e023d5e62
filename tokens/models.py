from __future__ import annotations

from django.conf import settings
from django.db import models

from core.choices import Source


class Integration(models.Model):
    """A sender of alert notifications (an Alertmanager, a Grafana, a Datadog account…)."""

    name = models.CharField(max_length=120, unique=True)
    source = models.CharField(max_length=12, choices=Source.choices)
    owner_team = models.ForeignKey(
        "fleet.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="integrations"
    )
    # Grafana can sign its webhooks with HMAC-SHA256; empty means no verification.
    signing_secret = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        db_table = "alerts_integration"  # moved from the alerts app; the table kept its name

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token, stored as the SHA-256 of a 256-bit random secret.

    A fast hash is enough because the secret is random and long; a slow password hash would cap
    the ingest rate. The plain token is shown once, at creation.
    """

    class Scope(models.TextChoices):
        INGEST = "ingest", "Ingest (alert webhooks)"
        READ = "read", "Read"
        WRITE = "write", "Read and write"

    name = models.CharField(max_length=120)
    scope = models.CharField(max_length=8, choices=Scope.choices)
    team = models.ForeignKey(
        "fleet.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tokens",
        help_text="Writes are limited to this team's objects; empty for a fleet-wide token.",
    )
    integration = models.ForeignKey(
        Integration, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="api_tokens",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=12, editable=False, help_text="First characters, to tell tokens apart."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"
        db_table = "alerts_apitoken"  # moved from the alerts app; the table kept its name

    def __str__(self) -> str:
        return f"{self.name} ({self.scope}, {self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def posts_to(self, source: str) -> bool:
        """A token bound to an integration posts only to that integration's source endpoint,
        so a signed integration (Grafana's HMAC) cannot skip its signature on an endpoint that
        checks none. Unbound ingest tokens post anywhere."""
        return self.integration_id is None or (
            self.integration is not None and self.integration.source == source
        )

    def allows(self, scope: str) -> bool:
        """`write` implies `read`; `ingest` is only for webhooks."""
        if scope == self.scope:
            return True
        return scope == self.Scope.READ and self.scope == self.Scope.WRITE
