"""Close open episodes that Alertmanager no longer lists: a resolve notification can be lost
(Steward down past the sender's retries, a receiver misconfigured for a while)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
from django.db import transaction
from django.utils import timezone

from alerts.models import Episode
from alerts.signals import episodes_changed
from core.choices import Source
from core.weeks import week_of

# Episodes notified this recently are left alone: Alertmanager may not list them yet.
GRACE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    listed: int
    closed: int


def active_alerts(alertmanager_url: str, *, timeout: float = 10) -> dict[str, datetime]:
    """Fingerprint → startsAt of every alert Alertmanager holds (silenced, inhibited too)."""
    response = requests.get(
        f"{alertmanager_url.rstrip('/')}/api/v2/alerts",
        params={"active": "true", "silenced": "true", "inhibited": "true"},
        timeout=timeout,
    )
    response.raise_for_status()
    return {
        alert["fingerprint"]: datetime.fromisoformat(alert["startsAt"]).astimezone(UTC)
        for alert in response.json()
    }


def episodes_reconcile(*, alertmanager_url: str, now: datetime | None = None) -> ReconcileResult:
    listed = active_alerts(alertmanager_url)
    now = now or timezone.now()
    with transaction.atomic():
        candidates = (
            Episode.objects.open()
            .filter(source=Source.PROMETHEUS, last_notified_at__lt=now - GRACE)
            .select_for_update()
            .values_list("pk", "fingerprint", "starts_at")
        )
        # Gone from Alertmanager, or replaced there by a newer firing of the same alert.
        stale = [
            (pk, starts_at)
            for pk, fp, starts_at in candidates
            if fp not in listed or starts_at < listed[fp]
        ]
        if stale:
            Episode.objects.filter(pk__in=[pk for pk, _ in stale]).update(
                ends_at=now, updated_at=now
            )
            weeks = sorted({week_of(start) for _, start in stale} | {week_of(now)})
            transaction.on_commit(lambda: episodes_changed.send(sender=Episode, weeks=weeks))
    return ReconcileResult(listed=len(listed), closed=len(stale))
