"""Rebuild episodes from Prometheus' `ALERTS` series, for the history before the webhook.

1. Query `ALERTS{alertstate="firing"}` over [since, until] with `custom_query_range`, in
   windows of at most 10,000 steps (Prometheus refuses more than 11,000 points per series).
2. Per label set (without `__name__` and `alertstate`), cut the samples into runs: a gap of
   more than 1.5 steps ends a run. A run becomes an episode starting at its first sample and
   ending one step after its last; its fingerprint is Alertmanager's, from the same labels.
3. Runs still firing at `until` are left to the webhook, which will deliver them with their
   exact startsAt (a backfilled start is quantised to the step, so storing both would double).
4. A run that overlaps an existing episode of the same fingerprint is that episode (the
   webhook's startsAt lies up to one step — or the rule's `for:` — before the first sample):
   it is skipped. The others go through the ingest core like a delivery, so rules are resolved
   (or created uncatalogued) exactly as for the webhook.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from prometheus_api_client import PrometheusConnect

from alerts.ingest.services import AlertEvent, Batch, delivery_ingest
from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.integrations.prometheus.client import prometheus_connect
from alerts.models import Episode
from core.choices import Source

QUERY = 'ALERTS{alertstate="firing"}'
_MAX_STEPS = 10_000


@dataclass(frozen=True, slots=True)
class Run:
    labels: dict[str, str]
    fingerprint: str
    first: datetime
    last: datetime


@dataclass(frozen=True, slots=True)
class BackfillResult:
    series: int
    runs: int
    inserted: int
    matched: int
    still_firing: int


def alerts_backfill(
    *,
    prometheus_url: str,
    since: datetime,
    until: datetime | None = None,
    step: timedelta = timedelta(seconds=60),
) -> BackfillResult:
    until = until or timezone.now()
    client = prometheus_connect(url=prometheus_url)
    samples = _samples(client, since, until, step)
    runs = [run for labels, times in samples.items() for run in _runs(dict(labels), times, step)]
    open_runs = [run for run in runs if run.last >= until - 2 * step]
    closed_runs = [run for run in runs if run.last < until - 2 * step]
    new_runs = _unmatched(closed_runs, step)
    if new_runs:
        events = [
            AlertEvent(
                labels=run.labels,
                annotations={},
                fingerprint=run.fingerprint,
                starts_at=run.first,
                ends_at=min(run.last + step, until),
            )
            for run in new_runs
        ]
        delivery_ingest(
            batch=Batch(source=Source.PROMETHEUS, alerts=events, group_key="backfill"),
            body=json.dumps(
                {"backfill": QUERY, "since": since.isoformat(), "until": until.isoformat()}
            ),
            content_type="application/json",
        )
    return BackfillResult(
        series=len(samples),
        runs=len(runs),
        inserted=len(new_runs),
        matched=len(closed_runs) - len(new_runs),
        still_firing=len(open_runs),
    )


def _samples(
    client: PrometheusConnect, since: datetime, until: datetime, step: timedelta
) -> dict[tuple[tuple[str, str], ...], list[datetime]]:
    found: dict[tuple[tuple[str, str], ...], set[datetime]] = defaultdict(set)
    start = since
    while start < until:
        end = min(until, start + step * _MAX_STEPS)
        result: list[dict[str, Any]] = client.custom_query_range(
            QUERY, start_time=start, end_time=end, step=f"{int(step.total_seconds())}s"
        )
        for series in result:
            labels = {
                k: v for k, v in series["metric"].items() if k not in ("__name__", "alertstate")
            }
            key = tuple(sorted(labels.items()))
            found[key].update(
                datetime.fromtimestamp(float(ts), tz=UTC) for ts, _value in series["values"]
            )
        start = end + step
    return {key: sorted(times) for key, times in found.items()}


def _runs(labels: dict[str, str], times: list[datetime], step: timedelta) -> list[Run]:
    fp = fingerprint(labels)
    runs: list[Run] = []
    first = previous = times[0]
    for moment in times[1:]:
        if moment - previous > step * 1.5:
            runs.append(Run(labels, fp, first, previous))
            first = moment
        previous = moment
    runs.append(Run(labels, fp, first, previous))
    return runs


def _unmatched(runs: list[Run], step: timedelta) -> list[Run]:
    """The runs that no stored episode of the same fingerprint overlaps."""
    if not runs:
        return []
    earliest = min(run.first for run in runs) - step
    latest = max(run.last for run in runs)
    stored: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    rows = (
        Episode.objects.filter(fingerprint__in={run.fingerprint for run in runs})
        .filter(starts_at__lte=latest)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gte=earliest))
        .values_list("fingerprint", "starts_at", "ends_at")
    )
    for fp, starts_at, ends_at in rows:
        stored[fp].append((starts_at, ends_at))
    return [
        run
        for run in runs
        if not any(
            starts_at <= run.last and (ends_at is None or ends_at >= run.first - step)
            for starts_at, ends_at in stored[run.fingerprint]
        )
    ]
