"""WhyLabs drift notification → closed `ml`-layer episodes, one per anomalous feature.

WhyLabs notifies about anomalies it found in a window of dataset time and never sends a
resolve, so each feature's episode spans that window and is closed at once. The AI system is
`?system=<slug>` on the webhook URL, else the WhyLabs dataset (model) id.
"""

from __future__ import annotations

from collections.abc import Mapping

from alerts.ingest.services import AlertEvent, Batch
from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.integrations.whylabs.schemas import notification
from core.choices import Layer, Severity, Source

_SEVERITY = {1: Severity.CRITICAL, 2: Severity.WARNING, 3: Severity.INFO}


def adapt(payload: object, *, params: Mapping[str, str]) -> Batch:
    note = notification(payload)
    system = params.get("system") or note.dataset_id
    events = []
    for anomaly in note.anomalies:
        labels = {
            "alertname": note.monitor_id,
            "system": system,
            "layer": Layer.ML,
            "whylabs_dataset": note.dataset_id,
        }
        if anomaly.column:
            labels["feature"] = anomaly.column
        if anomaly.analyzer_type:
            labels["analyzer_type"] = anomaly.analyzer_type
        if note.severity in _SEVERITY:
            labels["severity"] = _SEVERITY[note.severity]
        events.append(
            AlertEvent(
                labels=labels,
                annotations={
                    "summary": f"WhyLabs monitor {note.monitor_id} found anomalies"
                    + (f" in {anomaly.column}" if anomaly.column else ""),
                    "whylabs_notification_id": note.notification_id,
                    "whylabs_org": note.org_id,
                },
                fingerprint=fingerprint(labels),
                starts_at=anomaly.start,
                ends_at=max(anomaly.start, anomaly.end),
            )
        )
    return Batch(
        source=Source.WHYLABS, alerts=events, group_key=note.notification_id, layer=Layer.ML
    )
