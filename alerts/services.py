"""Write-side operations of the alerts app shared by several features.

Engagement and feedback are recorded here so that the on-call page, the API and the review
can all call the same code.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from alerts.models import Engagement, Episode, Feedback


def engagements_record(
    *, episodes: Iterable[Episode], user: User | AnonymousUser | None, kind: str
) -> list[Engagement]:
    """One engagement per episode, in one INSERT however many episodes a page shows."""
    who = user if isinstance(user, User) else None
    return Engagement.objects.bulk_create(
        Engagement(episode=episode, user=who, kind=kind) for episode in episodes
    )


def engagement_record(
    *, episode: Episode, user: User | AnonymousUser | None, kind: str
) -> Engagement:
    return engagements_record(episodes=[episode], user=user, kind=kind)[0]


@transaction.atomic
def feedback_record(*, episode: Episode, user: User, actionable: bool, note: str = "") -> Feedback:
    """Store (or change) this user's verdict on the episode; one per user and episode."""
    now = timezone.now()
    feedback, _created = Feedback.objects.update_or_create(
        episode=episode,
        user=user,
        defaults={"actionable": actionable, "note": note.strip(), "updated_at": now},
        create_defaults={
            "actionable": actionable,
            "note": note.strip(),
            "created_at": now,
            "updated_at": now,
        },
    )
    engagement_record(episode=episode, user=user, kind=Engagement.Kind.FEEDBACK)
    return feedback
