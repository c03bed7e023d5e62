"""Steward's self-metrics (served at /metrics, names listed in README.md, "Metrics").

Counters and histograms here are updated by signal receivers in the process where the event
happens: gunicorn workers for deliveries, Celery workers for evaluations and tasks. With
PROMETHEUS_MULTIPROC_DIR set (docker-compose does), prometheus-client writes them to per-process
files in that directory and /metrics sums them over all processes of the container; without it
they live in the process's default registry. Values that are facts about the database (oldest
unprocessed evaluation, flagged rules) are not kept here but computed at scrape time by the
collectors in ops/collectors.py.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "steward_deliveries",
    "Inbound alert notifications by source and outcome (accepted, rejected, error).",
    ["source", "outcome"],
)
ALERTS_RECEIVED = Counter(
    "steward_alerts_received",
    "Alerts contained in inbound notifications, by source.",
    ["source"],
)
EPISODES = Counter(
    "steward_episodes",
    "Episodes opened, updated or closed by inbound notifications, by source.",
    ["source", "change"],
)
INGEST_DURATION = Histogram(
    "steward_ingest_duration_seconds",
    "Time spent answering one inbound notification, by source.",
    ["source"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
EVALUATION_DURATION = Histogram(
    "steward_evaluation_duration_seconds",
    "Duration of one noise evaluation of a week, by final status (done, failed).",
    ["status"],
    buckets=(0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0),
)
EVALUATION_FAILURES = Counter(
    "steward_evaluation_failures",
    "Noise evaluations that ended with status failed.",
)
CELERY_TASKS = Counter(
    "steward_celery_tasks",
    "Celery task outcomes (success, failure, retry) by task name.",
    ["task", "outcome"],
)
HTTP_RESPONSES = Counter(
    "steward_http_responses",
    "HTTP responses of the web process by method and status code.",
    ["method", "status"],
)
HTTP_DURATION = Histogram(
    "steward_http_request_duration_seconds",
    "Time to answer an HTTP request (all paths), by method.",
    ["method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
