"""Metrics computed from the database at scrape time (one aggregate query per collector).

They describe shared state, so only the web process's /metrics registers them; a Celery
worker's metrics endpoint does not, or every scrape would count them twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from alerts.models import Flag
from core.weeks import current_week
from ops import selectors

logger = logging.getLogger(__name__)


class EvaluationCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "steward_metrics_database_up",
            "1 when the database answered the scrape-time metric queries, else 0.",
        )
        try:
            times = selectors.evaluation_times()
        except DatabaseError:
            logger.warning("metrics: database unavailable for evaluation metrics", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        now = timezone.now()
        oldest = times["oldest_unprocessed"]
        yield GaugeMetricFamily(
            "steward_evaluation_oldest_unprocessed_age_seconds",
            "Age of the oldest evaluation still pending or running (0 when there is none).",
            value=(now - oldest).total_seconds() if oldest else 0.0,
        )
        for name, moment, documentation in (
            (
                "steward_evaluation_last_finished_timestamp_seconds",
                times["last_finished"],
                "When the last evaluation finished (done or failed), as a Unix time.",
            ),
            (
                "steward_evaluation_last_success_timestamp_seconds",
                times["last_done"],
                "When the last evaluation finished successfully, as a Unix time.",
            ),
        ):
            # Absent until the first evaluation ends, so that `absent()` can tell "never".
            if moment is not None:
                yield GaugeMetricFamily(name, documentation, value=moment.timestamp())


class FlagCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = selectors.flag_counts(week=current_week())
        except DatabaseError:
            logger.warning("metrics: database unavailable for flag metrics", exc_info=True)
            return
        family = GaugeMetricFamily(
            "steward_flagged_rules",
            "Alert rules flagged in the current ISO week, by flag.",
            labels=["flag"],
        )
        for flag in Flag.values:
            family.add_metric([flag], counts.get(flag, 0))
        yield family
