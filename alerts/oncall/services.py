from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from alerts.models import AlertRule, Engagement, Episode
from alerts.services import engagements_record
from runbooks.models import Runbook
from runbooks.services import runbook_save

VIEW_DEDUP_WINDOW = timedelta(minutes=10)


def runbook_link_rule(*, runbook: Runbook, rule: AlertRule) -> AlertRule:
    """Make `runbook` the runbook of `rule` (callers check that the user may edit the rule)."""
    rule.runbook = runbook
    rule.save(update_fields=["runbook", "updated_at"])
    return rule


@transaction.atomic
def runbook_create_for_alert(
    *,
    runbook: Runbook,
    author: User | AnonymousUser | None,
    note: str = "",
    rule: AlertRule | None = None,
) -> Runbook:
    """Save a new runbook (first revision); link the alert rule it was written for, if any."""
    runbook_save(runbook=runbook, author=author, note=note or "Created")
    if rule is not None:
        runbook_link_rule(runbook=runbook, rule=rule)
    return runbook


def oncall_view_record(
    *, episodes: Iterable[Episode], user: User | AnonymousUser | None
) -> list[Engagement]:
    """Count an on-call page view as engagement with each episode it was opened for.

    A reload within `VIEW_DEDUP_WINDOW` is the same look, not a new engagement, so refreshing
    the page during an incident does not grow the table.
    """
    episodes = list(episodes)
    if not episodes:
        return []
    seen: set[int] = set()
    if isinstance(user, User):
        seen = set(
            Engagement.objects.filter(
                episode__in=episodes,
                user=user,
                kind=Engagement.Kind.RUNBOOK_VIEW,
                at__gte=timezone.now() - VIEW_DEDUP_WINDOW,
            ).values_list("episode_id", flat=True)
        )
    return engagements_record(
        episodes=[episode for episode in episodes if episode.pk not in seen],
        user=user,
        kind=Engagement.Kind.RUNBOOK_VIEW,
    )
