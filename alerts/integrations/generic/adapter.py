"""Generic JSON → ingest events (see schemas.py for the shape)."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils import timezone

from alerts.ingest.services import AlertEvent, Batch
from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.integrations.generic.schemas import generic_alerts
from core.choices import Source


def adapt(payload: object, *, params: Mapping[str, str]) -> Batch:
    now = timezone.now()
    events = []
    for alert in generic_alerts(payload):
        start = alert.starts_at or now
        end = (alert.ends_at or now) if alert.resolved else None
        events.append(
            AlertEvent(
                labels=alert.labels,
                annotations=alert.annotations,
                fingerprint=fingerprint(alert.labels),
                starts_at=start,
                ends_at=None if end is None else max(end, start),
                generator_url=alert.generator_url,
                attach_to_open=alert.starts_at is None,
            )
        )
    return Batch(source=Source.GENERIC, alerts=events)
