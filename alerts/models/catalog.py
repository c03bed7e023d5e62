from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from core.choices import Layer, Severity, Source

if TYPE_CHECKING:
    from fleet.models import Team


def matchers_key(matchers: Mapping[str, str]) -> str:
    """Canonical text of equality matchers, so that uniqueness can be enforced in SQL."""
    return ",".join(f"{name}={matchers[name]}" for name in sorted(matchers))


def validate_matchers(value: object) -> None:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k for k, v in value.items()
    ):
        raise ValidationError(
            'Matchers are label equalities as a JSON object, e.g. {"model": "fraud-scorer"}.'
        )
    if "alertname" in value:
        raise ValidationError("Put the alert name in the alertname field, not in the matchers.")


class AlertRuleQuerySet(models.QuerySet["AlertRule"]):
    def active(self) -> AlertRuleQuerySet:
        return self.filter(status=AlertRule.Status.ACTIVE)

    def for_team(self, team_id: int) -> AlertRuleQuerySet:
        return self.filter(owner_team_id=team_id)

    # "Owned" has one definition, in alerts.catalog.ownership (imported here, not at the top: that
    # module needs these models).
    def owned(self) -> AlertRuleQuerySet:
        from alerts.catalog.ownership import owned_condition

        return self.filter(owned_condition())

    def unowned(self) -> AlertRuleQuerySet:
        from alerts.catalog.ownership import owned_condition

        return self.exclude(owned_condition())


class AlertRule(models.Model):
    """One alert definition in the catalog.

    A rule is identified by its alertname plus optional label equality matchers, so one
    alertname can serve several systems (`ModelLatencyHigh` with model=fraud-scorer and with
    model=recommender-v7). `alerts.selectors.rule_resolve` picks the most specific match.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        MUTED = "muted", "Muted"
        PRUNED = "pruned", "Pruned"
        RETIRED = "retired", "Retired"

    alertname = models.CharField(max_length=200)
    matchers = models.JSONField(default=dict, blank=True, validators=[validate_matchers])
    matchers_key = models.CharField(max_length=1000, editable=False, default="", blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    layer = models.CharField(max_length=10, choices=Layer.choices, blank=True)
    owner_team = models.ForeignKey(
        "fleet.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="alert_rules"
    )
    system = models.ForeignKey(
        "fleet.AISystem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alert_rules",
    )
    runbook = models.ForeignKey(
        "runbooks.Runbook",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alert_rules",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    muted_at = models.DateTimeField(null=True, blank=True)
    muted_until = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.MANUAL)
    expression = models.TextField(blank=True, help_text="PromQL or the source's query.")
    for_duration = models.DurationField(null=True, blank=True, help_text="Prometheus `for:`.")
    keep_firing_for = models.DurationField(
        null=True, blank=True, help_text="Prometheus `keep_firing_for:`."
    )
    # Where an imported or synced rule is defined, so a review decision can become a patch.
    source_file = models.CharField(max_length=500, blank=True)
    source_group = models.CharField(max_length=200, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    labels = models.JSONField(default=dict, blank=True, help_text="Static labels of the rule.")
    catalogued = models.BooleanField(
        default=True, help_text="False when Steward discovered the rule firing unregistered."
    )
    last_fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AlertRuleQuerySet.as_manager()

    class Meta:
        ordering = ["alertname", "matchers_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["alertname", "matchers_key"], name="alertrule_unique_name_matchers"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="muted") | models.Q(muted_at__isnull=False),
                name="alertrule_muted_has_muted_at",
            ),
        ]
        indexes = [
            models.Index(fields=["owner_team", "status"], name="alertrule_team_status"),
            models.Index(fields=["system"], name="alertrule_system"),
            models.Index(fields=["layer", "severity"], name="alertrule_layer_severity"),
        ]

    def __str__(self) -> str:
        return f"{self.alertname}{{{self.matchers_key}}}" if self.matchers_key else self.alertname

    def save(self, *args: object, **kwargs: object) -> None:
        self.matchers_key = matchers_key(self.matchers or {})
        if self.status == self.Status.MUTED and self.muted_at is None:
            self.muted_at = timezone.now()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        """Checks whose messages a person can act on (admin, API and import share them)."""
        errors: dict[str, str] = {}
        if isinstance(self.matchers, dict):
            self.matchers_key = matchers_key(self.matchers)
            clash = AlertRule.objects.filter(
                alertname=self.alertname, matchers_key=self.matchers_key
            ).exclude(pk=self.pk)
            if self.alertname and clash.exists():
                which = f" with matchers {{{self.matchers_key}}}" if self.matchers_key else ""
                errors["alertname"] = (
                    f"A rule {self.alertname}{which} already exists. To have one alert name "
                    'serve several systems, give each rule a matcher such as {"model": "…"}.'
                )
            named = self.matchers.get("model") or self.matchers.get("system")
            if named and self.system is not None and self.system.slug != named:
                errors["system"] = (
                    f"The matchers select the system {named!r} but the rule is attached to "
                    f"{self.system.slug!r}; make them agree."
                )
        if self.status == self.Status.MUTED:
            # Muting stamps the time so that long mutes can be flagged.
            self.muted_at = self.muted_at or timezone.now()
            if self.muted_until is not None and self.muted_until <= timezone.now():
                errors["muted_until"] = (
                    "This date is in the past. Pick a future end for the mute, or leave it "
                    "empty to mute until further notice (reviews flag long mutes)."
                )
        elif self.muted_until is not None:
            errors["muted_until"] = (
                "Only a muted rule can have an end of mute: set the status to Muted, or clear "
                "this field."
            )
        else:
            self.muted_at = None
        if errors:
            raise ValidationError(errors)

    @property
    def owner(self) -> Team | None:
        """The team that owns this rule, as `alerts.catalog.ownership.rule_owner_team` says."""
        from alerts.catalog.ownership import rule_owner_team

        return rule_owner_team(self)
