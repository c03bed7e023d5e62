from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from runbooks.models import Runbook, RunbookRevision


@transaction.atomic
def runbook_save(
    *,
    runbook: Runbook,
    author: User | AnonymousUser | None,
    note: str = "",
    **changes: Any,
) -> Runbook:
    """Save a runbook (new or changed) and write a revision when its text changed.

    Every path that changes a runbook (pages, admin, API, import) goes through here, so the
    revision history is complete. A person who writes the text has just reviewed it: their
    save resets the review clock, so a new runbook is not born "stale · never reviewed".
    Saves without an author (imports, demo data) keep the review date they are given.
    """
    for field, value in changes.items():
        setattr(runbook, field, value)
    previous = (
        Runbook.objects.filter(pk=runbook.pk).values("title", "body").first()
        if runbook.pk
        else None
    )
    changed = previous is None or (previous["title"], previous["body"]) != (
        runbook.title,
        runbook.body,
    )
    if changed and isinstance(author, User) and "last_reviewed_at" not in changes:
        runbook.last_reviewed_at = timezone.now()
    runbook.full_clean()
    runbook.save()
    if changed:
        RunbookRevision.objects.create(
            runbook=runbook,
            title=runbook.title,
            body=runbook.body,
            author=author if isinstance(author, User) else None,
            note=note,
        )
    return runbook


def runbook_mark_reviewed(*, runbook: Runbook) -> Runbook:
    runbook.last_reviewed_at = timezone.now()
    runbook.save(update_fields=["last_reviewed_at", "updated_at"])
    return runbook
