"""Datadog monitor webhook → one ingest event.

Identity: the monitor name (the alert title without Datadog's "[Triggered on …]" prefix) is the
alertname; the monitor id and the scope tags (`host:a,env:prod` of a multi-alert) make the
labels, so each group of a multi-alert is its own alert instance. Datadog sends no start time
with a recovery, so events attach to the open episode of their fingerprint: a re-notification
joins it, a recovery closes it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from alerts.ingest.services import AlertEvent, Batch
from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.integrations.datadog.schemas import datadog_event
from core.choices import Source

_PREFIX_RE = re.compile(r"^\s*\[[^\]]*\]\s*")
# Monitor tags copied into labels: they name the owner, the system and the severity.
_LABEL_TAGS = ("team", "model", "system", "severity", "env", "service", "layer")


def adapt(payload: object, *, params: Mapping[str, str]) -> Batch:
    dd = datadog_event(payload)
    labels = {"alertname": _PREFIX_RE.sub("", dd.title) or dd.title}
    tags = _tags(dd.tags)
    labels.update({key: tags[key] for key in _LABEL_TAGS if tags.get(key)})
    labels.update(_tags(dd.scope))
    labels["datadog_monitor_id"] = dd.alert_id
    annotations = {
        "summary": dd.title,
        "description": dd.message,
        "datadog_transition": dd.transition,
        "datadog_priority": dd.priority,
        "datadog_alert_cycle_key": dd.cycle_key,
        "datadog_query": dd.query,
        "datadog_tags": dd.tags,
    }
    event = AlertEvent(
        labels=labels,
        annotations={key: value for key, value in annotations.items() if value},
        fingerprint=fingerprint(labels),
        starts_at=dd.date,
        ends_at=dd.date if dd.recovered else None,
        generator_url=dd.link,
        attach_to_open=True,
    )
    return Batch(source=Source.DATADOG, alerts=[event], group_key=dd.cycle_key)


def _tags(text: str) -> dict[str, str]:
    """`key:value` pairs of a Datadog tag list ("env:prod, role:db"); bare tags are skipped."""
    pairs: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.strip().partition(":")
        if sep and key and value and key != "alertname":
            pairs[key] = value
    return pairs
