"""Close open episodes that Alertmanager no longer lists: a resolve notification can be lost
(Steward down past the sender's retries, a receiver misconfigured for a while)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.db import transaction
from django.utils import timezone

from alerts.models import Episode, Source
from alerts.signals import episodes_changed
from alerts.weeks import week_of

# Episodes notified this recently are left alone: Alertmanager may not list them yet.
GRACE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    listed: int
    closed: int


def active_fingerprints(alertmanager_url: str, *, timeout: float = 10) -> set[str]:
    """Fingerprints of every alert Alertmanager holds (silenced and inhibited included)."""
    response = requests.get(
        f"{alertmanager_url.rstrip('/')}/api/v2/alerts",
        params={"active": "true", "silenced": "true", "inhibited": "true"},
        timeout=timeout,
    )
    response.raise_for_status()
    return {alert["fingerprint"] for alert in response.json()}


def episodes_reconcile(*, alertmanager_url: str, now: datetime | None = None) -> ReconcileResult:
    listed = active_fingerprints(alertmanager_url)
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(
            Episode.objects.open()
            .filter(source=Source.PROMETHEUS, last_notified_at__lt=now - GRACE)
            .exclude(fingerprint__in=listed)
            .select_for_update()
            .values_list("pk", "starts_at")
        )
        if stale:
            Episode.objects.filter(pk__in=[pk for pk, _ in stale]).update(
                ends_at=now, updated_at=now
            )
            weeks = sorted({week_of(start) for _, start in stale} | {week_of(now)})
            transaction.on_commit(lambda: episodes_changed.send(sender=Episode, weeks=weeks))
    return ReconcileResult(listed=len(listed), closed=len(stale))
