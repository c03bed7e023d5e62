"""Alertmanager webhook v4 → ingest events."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from django.utils import timezone

from alerts.ingest.services import AlertEvent, Batch
from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.integrations.alertmanager.schemas import AlertV4, webhook_v4
from alerts.integrations.payload import ZERO_TIME
from core.choices import Source

_FINGERPRINT_RE = re.compile(r"^[0-9a-f]{16}$")


def adapt(payload: object, *, params: Mapping[str, str]) -> Batch:
    webhook = webhook_v4(payload)
    now = timezone.now()
    return Batch(
        source=Source.PROMETHEUS,
        alerts=[event(alert, now=now) for alert in webhook.alerts],
        truncated=webhook.truncated_alerts,
        group_key=webhook.group_key,
    )


def event(alert: AlertV4, *, now: datetime) -> AlertEvent:
    return AlertEvent(
        labels=alert.labels,
        annotations=alert.annotations,
        fingerprint=(
            alert.fingerprint
            if _FINGERPRINT_RE.match(alert.fingerprint)
            else fingerprint(alert.labels)
        ),
        starts_at=alert.starts_at,
        ends_at=_end(alert, now=now),
        generator_url=alert.generator_url,
    )


def _end(alert: AlertV4, *, now: datetime) -> datetime | None:
    """None while firing. Some senders put a future endsAt (now + resolve_timeout) on firing
    alerts: the status decides, not the time."""
    if alert.status == "firing":
        return None
    end = alert.ends_at if alert.ends_at != ZERO_TIME else now
    return max(end, alert.starts_at)
