"""SLOs of AI systems and the weekly coverage-scorecard snapshots.

Imported at the bottom of fleet/models.py so Django registers them with the fleet app.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core.choices import Layer

# Every SLI query is evaluated over several windows (5m … 3d): `$window` marks where the range
# goes, e.g. sum(rate(http_requests_total{code!~"5.."}[$window])).
WINDOW_PLACEHOLDER = "$window"


class SLO(models.Model):
    """A service level objective of one AI system.

    The SLI is either a pair of event counts (good and total) or one ratio of good events,
    each a PromQL expression containing `$window`.
    """

    class Window(models.IntegerChoices):
        DAYS_28 = 28, "28 days"
        DAYS_30 = 30, "30 days"

    system = models.ForeignKey("fleet.AISystem", on_delete=models.CASCADE, related_name="slos")
    name = models.CharField(max_length=200)
    slug = models.SlugField(help_text="Unique per system; becomes the `slo` label.")
    description = models.TextField(blank=True)
    good_query = models.TextField(
        blank=True, help_text="PromQL rate of good events over $window (with total_query)."
    )
    total_query = models.TextField(
        blank=True, help_text="PromQL rate of all events over $window (with good_query)."
    )
    ratio_query = models.TextField(
        blank=True,
        help_text="Alternative to good/total: PromQL ratio of good events (0–1) over $window.",
    )
    objective = models.DecimalField(
        max_digits=7,
        decimal_places=4,
        validators=[
            MinValueValidator(Decimal("0.0001")),
            MaxValueValidator(Decimal("99.9999")),
        ],
        help_text="Target share of good events in percent, e.g. 99.5.",
    )
    window_days = models.PositiveSmallIntegerField(choices=Window.choices, default=Window.DAYS_30)
    layer = models.CharField(max_length=10, choices=Layer.choices, default=Layer.INFRA)
    owner_team = models.ForeignKey(
        "fleet.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="slos",
        help_text="Empty: the system's owner team.",
    )
    runbook = models.ForeignKey(
        "runbooks.Runbook", null=True, blank=True, on_delete=models.SET_NULL, related_name="slos"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system__slug", "slug"]
        verbose_name = "SLO"
        db_table = "fleet_slo"  # moved from the fleet app; the table kept its name
        constraints = [
            models.UniqueConstraint(fields=["system", "slug"], name="slo_unique_system_slug"),
            models.CheckConstraint(
                condition=models.Q(objective__gt=0) & models.Q(objective__lt=100),
                name="slo_objective_between_0_and_100",
            ),
        ]
        indexes = [models.Index(fields=["owner_team"], name="slo_owner_team")]

    def __str__(self) -> str:
        return f"{self.name} ({self.objective}% over {self.window_days}d)"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.owner_team_id is None and self.system_id is not None:
            self.owner_team_id = self.system.owner_team_id
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @property
    def error_budget(self) -> Decimal:
        """Allowed share of bad events, e.g. 0.005 for 99.5 %."""
        return (Decimal(100) - Decimal(self.objective)) / Decimal(100)

    def clean(self) -> None:
        super().clean()
        pair = bool(self.good_query.strip()) or bool(self.total_query.strip())
        ratio = bool(self.ratio_query.strip())
        if pair and ratio:
            raise ValidationError(
                "Give the SLI either as good and total queries or as one ratio query, not both."
            )
        if not pair and not ratio:
            raise ValidationError("Give the SLI as good and total queries, or as one ratio query.")
        if pair and not (self.good_query.strip() and self.total_query.strip()):
            raise ValidationError("The good and total queries go together: give both.")
        fields = ("good_query", "total_query") if pair else ("ratio_query",)
        errors = {
            field: f"The query must contain {WINDOW_PLACEHOLDER} where the range goes, "
            f"e.g. rate(requests_total[{WINDOW_PLACEHOLDER}])."
            for field in fields
            if WINDOW_PLACEHOLDER not in getattr(self, field)
        }
        if errors:
            raise ValidationError(errors)


class ScorecardSnapshot(models.Model):
    """The coverage score of one system as it stood in one ISO week (the trend reads these)."""

    system = models.ForeignKey(
        "fleet.AISystem", on_delete=models.CASCADE, related_name="scorecard_snapshots"
    )
    week = models.CharField(max_length=8, help_text="ISO week, e.g. 2026-W47.")
    score = models.PositiveSmallIntegerField()
    missing = models.JSONField(default=list, blank=True, help_text="Codes of missing items.")
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week", "system_id"]
        db_table = "fleet_scorecardsnapshot"  # moved from the fleet app; the table kept its name
        constraints = [
            models.UniqueConstraint(fields=["system", "week"], name="snapshot_unique_system_week"),
        ]
        indexes = [models.Index(fields=["week"], name="snapshot_week")]

    def __str__(self) -> str:
        return f"{self.system_id} {self.week}: {self.score}"
