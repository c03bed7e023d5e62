from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Review(models.Model):
    """The weekly alert-review meeting for an ISO week, for the whole fleet or one team.

    The agenda is frozen into `agenda` when the meeting starts, so that an evaluation running
    during the meeting does not reorder it; flags raised later are shown as new since start.
    """

    week = models.CharField(max_length=8)
    team = models.ForeignKey(
        "fleet.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="reviews"
    )
    attendees = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="reviews_attended"
    )
    notes = models.TextField(blank=True)
    agenda = models.JSONField(default=list, blank=True, help_text="Frozen agenda at start.")
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week", "team__name"]
        # One review per week and team, and one fleet-wide review per week. Two partial
        # constraints rather than nulls_distinct=False, which SQLite does not enforce.
        constraints = [
            models.UniqueConstraint(
                fields=["week", "team"],
                condition=models.Q(team__isnull=False),
                name="review_unique_week_team",
            ),
            models.UniqueConstraint(
                fields=["week"],
                condition=models.Q(team__isnull=True),
                name="review_unique_week_fleet",
            ),
        ]

    def __str__(self) -> str:
        scope = self.team.name if self.team is not None else "fleet"
        return f"Review {self.week} ({scope})"


class SilenceState(models.TextChoices):
    """Where a mute decision's Alertmanager silence stands."""

    NONE = "", "No silence"
    PENDING = "pending", "Pending"
    CREATED = "created", "Created"
    RETRYING = "retrying", "Pending, retrying"
    EXPIRED = "expired", "Expired"
    VANISHED = "vanished", "Vanished outside Steward"
    SHORTENED = "shortened", "Shortened outside Steward"


class Decision(models.Model):
    """What the review decided about one rule; also an action item until marked done."""

    SilenceState = SilenceState

    class Kind(models.TextChoices):
        KEEP = "keep", "Keep"
        TUNE = "tune", "Tune"
        PRUNE = "prune", "Prune"
        RETIRE = "retire", "Retire"
        REASSIGN = "reassign", "Reassign to another team"
        RUNBOOK = "runbook", "Write or fix the runbook"
        MUTE = "mute", "Mute until a date"

    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions"
    )
    week = models.CharField(max_length=8)
    rule = models.ForeignKey("alerts.AlertRule", on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    note = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_actions",
    )
    due_date = models.DateField(null=True, blank=True)
    mute_until = models.DateTimeField(null=True, blank=True)
    # A tune decision's change to the rule, e.g. {"for": "10m", "keep_firing_for": "5m"}.
    proposed_change = models.JSONField(default=dict, blank=True)
    reassign_to = models.ForeignKey(
        "fleet.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="review_decisions",
    )
    decided_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Undone by a person, or replaced by a later decision on the same rule: its silence (if
    # any) is expired and it leaves the open actions.
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="supersedes"
    )
    # A mute's Alertmanager silence (alerts.review.carry_out).
    silence_id = models.CharField(max_length=64, blank=True)
    silence_state = models.CharField(
        max_length=10, choices=SilenceState.choices, default=SilenceState.NONE, blank=True
    )
    silence_attempts = models.PositiveIntegerField(default=0)
    silence_error = models.CharField(max_length=500, blank=True)
    silence_checked_at = models.DateTimeField(null=True, blank=True)
    # Seen carried out at the source: the rule stopped arriving (prune, retire) or arrived
    # with the new definition (tune), or its silence was created (mute).
    carried_out_at = models.DateTimeField(null=True, blank=True)
    carried_out_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [
            models.Index(fields=["rule", "-decided_at"], name="decision_rule_time"),
            models.Index(fields=["week"], name="decision_week"),
            models.Index(
                fields=["decided_at"],
                condition=models.Q(done_at__isnull=True),
                name="decision_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.rule_id} ({self.week})"

    @property
    def is_open(self) -> bool:
        return self.done_at is None

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None

    @property
    def silence_trouble(self) -> bool:
        """The silence was removed or cut short outside Steward: the rule is flagged."""
        return self.silence_state in (SilenceState.VANISHED, SilenceState.SHORTENED)


class RuleFileText(models.Model):
    """The text of a rule file as last imported, so a review's patch applies to exactly it."""

    path = models.CharField(max_length=500, unique=True)
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.path
