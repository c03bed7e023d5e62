"""Silences in the demo's ledger, as an Alertmanager sync would record them: a clean one, an
over-long one, one that matches nothing Steward knows (orphaned), one by someone outside the
owning team, and one that ended. They go through `silences_record`, the ledger side of the
sync, so coverage, flags and events are the real ones. The demo runs no Alertmanager, so
nothing syncs them afterwards; a second seed leaves them as they are."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from alerts.silences.client import SilenceData, SilenceListing
from alerts.silences.matchers import Matcher
from alerts.silences.models import Silence
from alerts.silences.services import silences_record

_NAMESPACE = uuid.UUID("5b1e6c2a-5d0e-4c57-9b1f-0d3e57e3a1c0")

# key, matchers, created by, comment, starts (hours from now), lasts (hours)
SILENCES: list[tuple[str, list[tuple[str, str]], str, str, float, float]] = [
    (
        "canary",
        [("alertname", "ModelErrorRateHigh"), ("model", "recommender-v7"), ("env", "canary")],
        "maya.chen",
        "CHG-2291: canary of v7.3 while the error budget recovers",
        -6,
        102,
    ),
    (
        "over-long",
        [("alertname", "ModelErrorRateHigh"), ("model", "chargeback-predictor")],
        "jonas.keller",
        "Upstream card network flaky until their fix ships",
        -48,
        24 * 21,
    ),
    (
        "orphaned",
        [("alertname", "LegacyScoringJobFailed"), ("job", "nightly-rescore")],
        "oliver.grant",
        "Job retired in Q3",
        -24 * 20,
        24 * 60,
    ),
    (
        "outside",
        [("alertname", "ModelLatencyHigh"), ("model", "homepage-ranker")],
        "arjun.mehta",
        "Load test on the ranker (INC-5120)",
        -2,
        8,
    ),
    (
        "ended",
        [("alertname", "ServiceLatencyHigh"), ("system", "gpu-inference-cluster")],
        "oliver.grant",
        "Cluster resize",
        -24 * 6,
        12,
    ),
]


def demo_silence_id(key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, key))


def demo_silences_seed(*, now: datetime) -> int:
    """Record the demo's silences unless they are there; returns how many were recorded."""
    ids = [demo_silence_id(key) for key, *_ in SILENCES]
    if Silence.objects.filter(alertmanager_id__in=ids).exists():
        return 0
    listed = []
    for key, matchers, by, comment, starts, hours in SILENCES:
        starts_at = now + timedelta(hours=starts)
        ends_at = starts_at + timedelta(hours=hours)
        listed.append(
            SilenceData(
                id=demo_silence_id(key),
                matchers=tuple(Matcher(name, value) for name, value in matchers),
                starts_at=starts_at,
                ends_at=ends_at,
                created_by=by,
                comment=comment,
                state="active" if starts_at <= now < ends_at else "expired",
                updated_at=starts_at,
            )
        )
    silences_record(SilenceListing(silences=listed, reached=["demo"]), now=now)
    return len(listed)
