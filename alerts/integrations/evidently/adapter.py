"""Evidently test results → `ml`-layer episodes on the system they name.

A failing test (FAIL, ERROR, WARNING) fires; a passing test resolves. Runs are periodic and
carry no alert start, so events attach to the open episode of their fingerprint: a test that
fails in five runs in a row is one episode, closed by the first run in which it passes. The
system is `?system=<slug>` on the webhook URL or `metadata.system` in the body.
"""

from __future__ import annotations

from collections.abc import Mapping

from alerts.ingest.services import AlertEvent, Batch
from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.integrations.evidently.schemas import test_run
from alerts.integrations.payload import PayloadError
from core.choices import Layer, Source

_FIRING = {"FAIL", "ERROR", "WARNING"}


def adapt(payload: object, *, params: Mapping[str, str]) -> Batch:
    run = test_run(payload)
    system = params.get("system") or run.system
    if not system:
        raise PayloadError("Name the AI system: ?system=<slug> on the URL or metadata.system.")
    events = []
    for test in run.tests:
        if test.status not in _FIRING and test.status != "SUCCESS":
            continue  # SKIPPED says nothing either way
        labels = {"alertname": test.name, "system": system, "layer": Layer.ML}
        if test.group:
            labels["test_group"] = test.group
        events.append(
            AlertEvent(
                labels=labels,
                annotations={"summary": test.description or test.name, "status": test.status},
                fingerprint=fingerprint(labels),
                starts_at=run.timestamp,
                ends_at=None if test.status in _FIRING else run.timestamp,
                attach_to_open=True,
            )
        )
    return Batch(source=Source.EVIDENTLY, alerts=events, layer=Layer.ML)
