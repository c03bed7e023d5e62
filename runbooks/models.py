from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


def _default_review_days() -> int:
    return int(settings.STEWARD_RUNBOOK_REVIEW_DAYS)


class RunbookQuerySet(models.QuerySet["Runbook"]):
    def stale(self, *, now: datetime | None = None) -> RunbookQuerySet:
        """Runbooks never reviewed, or whose review is overdue."""
        now = now or timezone.now()
        return self.filter(models.Q(review_due_at=None) | models.Q(review_due_at__lt=now))

    def fresh(self, *, now: datetime | None = None) -> RunbookQuerySet:
        return self.filter(review_due_at__gte=now or timezone.now())


class Runbook(models.Model):
    slug = models.SlugField(unique=True)
    title = models.CharField(max_length=200)
    owner_team = models.ForeignKey(
        "fleet.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="runbooks"
    )
    body = models.TextField(blank=True, help_text="Markdown.")
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    review_interval_days = models.PositiveIntegerField(default=_default_review_days)
    # Stored (last review + interval) so that "stale" is one indexed comparison in SQL on every
    # database; kept in step by save().
    review_due_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RunbookQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        indexes = [models.Index(fields=["owner_team"], name="runbook_owner_team")]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.review_due_at = self._review_due()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "last_reviewed_at" in update_fields:
            kwargs["update_fields"] = {*update_fields, "review_due_at"}
        super().save(*args, **kwargs)

    def _review_due(self) -> datetime | None:
        if self.last_reviewed_at is None:
            return None
        return self.last_reviewed_at + timedelta(days=self.review_interval_days)

    def clean(self) -> None:
        super().clean()
        try:
            self._review_due()
        except (OverflowError, TypeError):
            # TypeError: a field left empty, which full_clean reports on its own.
            if isinstance(self.review_interval_days, int):
                raise ValidationError(
                    {"review_interval_days": "The next review would fall after the year 9999."}
                ) from None

    def is_stale(self, *, now: datetime | None = None) -> bool:
        return self.review_due_at is None or self.review_due_at < (now or timezone.now())


class RunbookRevision(models.Model):
    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="revisions")
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runbook_revisions",
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["runbook", "-created_at"], name="revision_runbook_time")]

    def __str__(self) -> str:
        return f"{self.runbook.slug} @ {self.created_at:%Y-%m-%d %H:%M}"
