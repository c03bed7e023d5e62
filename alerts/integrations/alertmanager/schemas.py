"""Validation of Alertmanager's webhook payload, version 4.

Unknown fields are accepted (Alertmanager adds fields over time); the fields Steward reads are
required with their documented types. See
https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.integrations.payload import (
    PayloadError,
    count,
    field,
    obj,
    optional_text,
    string_map,
    text,
    timestamp,
)

STATUSES = ("firing", "resolved")


@dataclass(frozen=True, slots=True)
class AlertV4:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    generator_url: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class WebhookV4:
    status: str
    receiver: str
    group_key: str
    truncated_alerts: int
    alerts: list[AlertV4]


def webhook_v4(payload: object) -> WebhookV4:
    data = obj(payload, "The body")
    version = text(field(data, "version", "body"), "body.version")
    if version != "4":
        raise PayloadError(f'body.version must be "4" (Alertmanager webhook v4), got {version!r}.')
    raw_alerts = field(data, "alerts", "body")
    if not isinstance(raw_alerts, list):
        raise PayloadError("body.alerts must be an array.")
    truncated = data.get("truncatedAlerts", 0)
    return WebhookV4(
        status=_status(field(data, "status", "body"), "body.status"),
        receiver=text(field(data, "receiver", "body"), "body.receiver"),
        group_key=optional_text(data, "groupKey", "body"),
        truncated_alerts=0 if truncated is None else count(truncated, "body.truncatedAlerts"),
        alerts=[alert_v4(item, f"body.alerts[{i}]") for i, item in enumerate(raw_alerts)],
    )


def alert_v4(value: object, where: str) -> AlertV4:
    data = obj(value, where)
    labels = string_map(field(data, "labels", where), f"{where}.labels")
    if not labels.get("alertname"):
        raise PayloadError(f"{where}.labels.alertname is required.")
    annotations = data.get("annotations")
    ends_at = data.get("endsAt") or "0001-01-01T00:00:00Z"
    return AlertV4(
        status=_status(field(data, "status", where), f"{where}.status"),
        labels=labels,
        annotations={} if annotations is None else string_map(annotations, f"{where}.annotations"),
        starts_at=timestamp(field(data, "startsAt", where), f"{where}.startsAt"),
        ends_at=timestamp(
            "0001-01-01T00:00:00Z" if ends_at is None else ends_at,
            f"{where}.endsAt",
            zero_ok=True,
        ),
        generator_url=optional_text(data, "generatorURL", where),
        fingerprint=optional_text(data, "fingerprint", where),
    )


def _status(value: object, where: str) -> str:
    status = text(value, where)
    if status not in STATUSES:
        raise PayloadError(f'{where} must be "firing" or "resolved", got {status!r}.')
    return status
