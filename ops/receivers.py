"""Signal receivers that turn ingest and evaluation events into self-metrics."""

from __future__ import annotations

from typing import Any

from django.dispatch import receiver

from alerts.models import Delivery, Evaluation
from alerts.signals import delivery_recorded, evaluation_finished
from ops import metrics


@receiver(delivery_recorded, dispatch_uid="ops.delivery_metrics")
def delivery_metrics(
    sender: Any, *, delivery: Delivery, duration_seconds: float, **kwargs: Any
) -> None:
    # An unsaved delivery means the database was unavailable: the sender got a 5xx.
    outcome = delivery.outcome if delivery.pk is not None else "error"
    source = delivery.source or "unknown"
    metrics.DELIVERIES.labels(source=source, outcome=outcome).inc()
    metrics.ALERTS_RECEIVED.labels(source=source).inc(delivery.alerts_count or 0)
    for change, count in (
        ("opened", delivery.opened_count),
        ("updated", delivery.updated_count),
        ("closed", delivery.closed_count),
    ):
        if count:
            metrics.EPISODES.labels(source=source, change=change).inc(count)
    metrics.INGEST_DURATION.labels(source=source).observe(duration_seconds)


@receiver(evaluation_finished, dispatch_uid="ops.evaluation_metrics")
def evaluation_metrics(
    sender: Any, *, evaluation: Evaluation, duration_seconds: float, **kwargs: Any
) -> None:
    metrics.EVALUATION_DURATION.labels(status=evaluation.status).observe(duration_seconds)
    if evaluation.status == Evaluation.Status.FAILED:
        metrics.EVALUATION_FAILURES.inc()
