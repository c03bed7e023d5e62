"""Rendering the metrics text, in multiprocess mode or from the process's own registry."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from ops.collectors import EvaluationCollector, FlagCollector


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def process_registry() -> CollectorRegistry:
    """Counters and histograms of this container's processes (all of them in multiprocess mode)."""
    if not multiprocess_enabled():
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def render_metrics(*, include_database: bool) -> tuple[bytes, str]:
    """The exposition text and its content type.

    The database collectors live in their own registry, built per scrape, so that they are
    never part of the default registry a Celery worker's metrics server serves.
    """
    body = generate_latest(process_registry())
    if include_database:
        database = CollectorRegistry(auto_describe=False)
        database.register(EvaluationCollector())
        database.register(FlagCollector())
        body += generate_latest(database)
    return body, CONTENT_TYPE_LATEST
