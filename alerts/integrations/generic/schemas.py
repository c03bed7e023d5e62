"""Validation of Steward's generic JSON shape, for senders with no integration of their own:

    {"alerts": [{"labels": {"alertname": "QueueBacklog", "system": "feature-store"},
                 "status": "firing",                # or "resolved"; default firing
                 "annotations": {"summary": "…"},   # optional
                 "startsAt": "2026-11-25T10:00:00Z", # optional: without it the alert joins
                 "endsAt": "2026-11-25T10:05:00Z",   #   its open episode (or opens one now)
                 "generatorURL": "https://…"}]}      # optional

`alertname` may also be given beside `labels`. Unknown fields are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.integrations.payload import (
    PayloadError,
    field,
    obj,
    optional_text,
    string_map,
    text,
    timestamp,
)


@dataclass(frozen=True, slots=True)
class GenericAlert:
    labels: dict[str, str]
    annotations: dict[str, str]
    resolved: bool
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str


def generic_alerts(payload: object) -> list[GenericAlert]:
    data = obj(payload, "The body")
    raw_alerts = field(data, "alerts", "body")
    if not isinstance(raw_alerts, list):
        raise PayloadError("body.alerts must be an array.")
    return [_alert(item, f"body.alerts[{i}]") for i, item in enumerate(raw_alerts)]


def _alert(value: object, where: str) -> GenericAlert:
    data = obj(value, where)
    labels = dict(string_map(data.get("labels") or {}, f"{where}.labels"))
    if "alertname" in data:
        labels["alertname"] = text(data["alertname"], f"{where}.alertname")
    if not labels.get("alertname"):
        raise PayloadError(f"{where}.labels.alertname is required.")
    status = optional_text(data, "status", where) or "firing"
    if status not in ("firing", "resolved"):
        raise PayloadError(f'{where}.status must be "firing" or "resolved", got {status!r}.')
    starts_at, ends_at = data.get("startsAt"), data.get("endsAt")
    return GenericAlert(
        labels=labels,
        annotations=string_map(data.get("annotations") or {}, f"{where}.annotations"),
        resolved=status == "resolved",
        starts_at=None if starts_at is None else timestamp(starts_at, f"{where}.startsAt"),
        ends_at=None if ends_at is None else timestamp(ends_at, f"{where}.endsAt", zero_ok=True),
        generator_url=optional_text(data, "generatorURL", where),
    )
