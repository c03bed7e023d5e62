"""Validation of WhyLabs monitor notifications sent to a custom webhook.

WhyLabs delivers either a digest (`mode` "DIGEST": `monitorId`, `datasetId`, `numAnomalies`,
`earliestAnomalyDatasetTimestamp` / `oldestAnomalyDatasetTimestamp` in epoch milliseconds,
`columnStatistics` per feature, `severity` 1 high … 3 low) or one message per anomaly
(`mode` "EVERY_ANOMALY" with an `analyzerResult`). Unknown fields are accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alerts.integrations.payload import (
    PayloadError,
    epoch_millis,
    field,
    obj,
    optional_text,
    text,
)


@dataclass(frozen=True, slots=True)
class Anomaly:
    column: str
    analyzer_type: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class WhyLabsNotification:
    notification_id: str
    org_id: str
    dataset_id: str
    monitor_id: str
    mode: str
    severity: int | None
    anomalies: list[Anomaly]


def notification(payload: object) -> WhyLabsNotification:
    data = obj(payload, "The body")
    mode = text(field(data, "mode", "body"), "body.mode")
    if mode == "DIGEST":
        anomalies = _digest(data)
    elif mode == "EVERY_ANOMALY":
        anomalies = [_analyzer_result(field(data, "analyzerResult", "body"))]
    else:
        raise PayloadError(f'body.mode must be "DIGEST" or "EVERY_ANOMALY", got {mode!r}.')
    result = obj(data.get("analyzerResult") or {}, "body.analyzerResult")
    severity = data.get("severity")
    if severity is not None and (isinstance(severity, bool) or not isinstance(severity, int)):
        raise PayloadError("body.severity must be an integer (1 high … 3 low).")
    return WhyLabsNotification(
        notification_id=optional_text(data, "id", "body"),
        org_id=optional_text(data, "orgId", "body") or optional_text(result, "orgId", "body"),
        dataset_id=text(
            data.get("datasetId") or result.get("datasetId"), "body.datasetId", allow_empty=False
        ),
        monitor_id=text(
            data.get("monitorId") or _first(result.get("monitorIds")),
            "body.monitorId",
            allow_empty=False,
        ),
        mode=mode,
        severity=severity,
        anomalies=anomalies,
    )


def _digest(data: dict[str, object]) -> list[Anomaly]:
    start = epoch_millis(
        field(data, "earliestAnomalyDatasetTimestamp", "body"),
        "body.earliestAnomalyDatasetTimestamp",
    )
    end = epoch_millis(
        field(data, "oldestAnomalyDatasetTimestamp", "body"), "body.oldestAnomalyDatasetTimestamp"
    )
    columns = data.get("columnStatistics") or []
    if not isinstance(columns, list):
        raise PayloadError("body.columnStatistics must be an array.")
    if not columns:
        return [Anomaly(column="", analyzer_type="", start=start, end=end)]
    anomalies = []
    for i, item in enumerate(columns):
        where = f"body.columnStatistics[{i}]"
        stat = obj(item, where)
        anomalies.append(
            Anomaly(
                column=text(field(stat, "column", where), f"{where}.column"),
                analyzer_type=optional_text(stat, "analyzerType", where),
                start=epoch_millis(
                    stat.get("earliestAnomalyDatasetTimestamp", int(start.timestamp() * 1000)),
                    f"{where}.earliestAnomalyDatasetTimestamp",
                ),
                end=epoch_millis(
                    stat.get("oldestAnomalyDatasetTimestamp", int(end.timestamp() * 1000)),
                    f"{where}.oldestAnomalyDatasetTimestamp",
                ),
            )
        )
    return anomalies


def _analyzer_result(value: object) -> Anomaly:
    where = "body.analyzerResult"
    result = obj(value, where)
    moment = epoch_millis(field(result, "datasetTimestamp", where), f"{where}.datasetTimestamp")
    return Anomaly(
        column=optional_text(result, "column", where),
        analyzer_type=optional_text(result, "analyzerType", where),
        start=moment,
        end=moment,
    )


def _first(value: object) -> object:
    return value[0] if isinstance(value, list) and value else value
