"""Validation of Grafana alerting's webhook payload (contact point "Webhook", version "1").

Grafana sends Alertmanager's shape plus `orgId`, `title`, `state`, `message` and per-alert
`values`, `silenceURL`, `dashboardURL`, `panelURL`: each alert is validated like an
Alertmanager v4 alert, unknown fields accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.integrations.alertmanager.schemas import AlertV4, alert_v4
from alerts.integrations.payload import (
    PayloadError,
    count,
    field,
    obj,
    optional_text,
)


@dataclass(frozen=True, slots=True)
class GrafanaWebhook:
    group_key: str
    truncated_alerts: int
    alerts: list[AlertV4]


def grafana_webhook(payload: object) -> GrafanaWebhook:
    data = obj(payload, "The body")
    raw_alerts = field(data, "alerts", "body")
    if not isinstance(raw_alerts, list):
        raise PayloadError("body.alerts must be an array.")
    truncated = data.get("truncatedAlerts", 0)
    return GrafanaWebhook(
        group_key=optional_text(data, "groupKey", "body"),
        truncated_alerts=0 if truncated is None else count(truncated, "body.truncatedAlerts"),
        alerts=[alert_v4(item, f"body.alerts[{i}]") for i, item in enumerate(raw_alerts)],
    )
