"""Lint `--forecast`: replay each alert's expression over past days on Prometheus and count
how often it would have fired.

A firing is a run of consecutive samples of one series (an alert expression returns only the
series that match) that lasts at least the rule's `for:`; each such run is one rising edge of
the `for`-adjusted series. Above STEWARD_LINT_FORECAST_MAX_FIRES the alert gets a warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from alerts.integrations.prometheus.client import prometheus_connect
from alerts.lint.types import AlertEntry, LintReport, Status, Violation
from alerts.models import LintCheck

# Prometheus refuses more than 11,000 points per series; stay under it.
MAX_POINTS = 10_000


def count_fires(series: Sequence[dict[str, Any]], *, step: float, for_seconds: float) -> int:
    """Rising edges of the `for`-adjusted firing series, summed over all result series."""
    fires = 0
    for result in series:
        run_start: float | None = None
        previous: float | None = None
        for raw_ts, _value in result.get("values", []):
            ts = float(raw_ts)
            if previous is None or ts - previous > step * 1.5:
                if run_start is not None and previous - run_start >= for_seconds:  # type: ignore[operator]
                    fires += 1
                run_start = ts
            previous = ts
        if run_start is not None and previous is not None and previous - run_start >= for_seconds:
            fires += 1
    return fires


def _describe(window: timedelta) -> str:
    if window >= timedelta(days=1):
        return f"{window.total_seconds() / 86400:g} days"
    return f"{window.total_seconds() / 60:g} minutes"


def step_for(window: timedelta) -> int:
    return max(1, math.ceil(window.total_seconds() / MAX_POINTS))


def forecast_entries(
    report: LintReport,
    entries: Sequence[AlertEntry],
    *,
    window: timedelta = timedelta(days=7),
    end: datetime | None = None,
    step: int | None = None,
) -> None:
    """Add one forecast per alert to the report, and a warning when it fires too often."""
    if not settings.PROMETHEUS_URL:
        raise ValueError("Forecasting needs PROMETHEUS_URL.")
    prometheus = prometheus_connect(url=settings.PROMETHEUS_URL)
    end = end or timezone.now()
    start = end - window
    step = step or step_for(window)
    limit = settings.STEWARD_LINT_FORECAST_MAX_FIRES
    for entry in entries:
        for_seconds = entry.for_duration.total_seconds() if entry.for_duration else 0.0
        try:
            series = prometheus.custom_query_range(
                query=entry.expr, start_time=start, end_time=end, step=str(step)
            )
        except Exception as error:  # noqa: BLE001 (any client/HTTP failure is reported)
            report.forecasts.append(
                {"file": entry.file, "alert": entry.alert, "fires": None, "error": str(error)[:300]}
            )
            continue
        fires = count_fires(series, step=step, for_seconds=for_seconds)
        report.forecasts.append(
            {
                "file": entry.file,
                "alert": entry.alert,
                "fires": fires,
                "window_start": start.isoformat(),
                "window_end": end.isoformat(),
                "step_seconds": step,
            }
        )
        if fires > limit:
            report.violations.append(
                Violation(
                    entry.file,
                    entry.rule.line,
                    entry.group,
                    entry.alert,
                    LintCheck.FORECAST,
                    f"Would have fired {fires} times in the past {_describe(window)} "
                    f"(limit {limit}): raise the threshold or lengthen `for:`.",
                    status=Status.WARNING,
                )
            )
