"""Silence policy on real Alertmanager silences: each flag on a mix of silences, and the
orphan/over-long enforcement in dry run and live."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests
from django.utils import timezone

from alerts.models import Episode
from alerts.silences.client import silence_create, silence_get
from alerts.silences.matchers import Matcher, rule_matchers
from alerts.silences.models import Silence, SilenceEvent, TeamSilenceEnforcement
from alerts.silences.policy import FlagKind, enforcement_plan, silence_flags
from alerts.silences.services import silences_enforce, silences_sync
from core.choices import Source
from tests.alerts.silences.conftest import Catalog
from tests.support.processes import AlertmanagerServer

pytestmark = pytest.mark.e2e


def _create(
    server: AlertmanagerServer,
    matchers: list[Matcher],
    *,
    now: datetime,
    hours: float,
    by: str = "alice",
    comment: str = "INC-7: planned maintenance of the scorer",
) -> str:
    return silence_create(
        server.url,
        matchers=matchers,
        starts_at=now,
        ends_at=now + timedelta(hours=hours),
        created_by=by,
        comment=comment,
    )


def _post_alert(server: AlertmanagerServer, labels: dict[str, str]) -> None:
    """An alert firing in Alertmanager now (as Prometheus would send it)."""
    response = requests.post(
        f"{server.url}/api/v2/alerts",
        json=[{"labels": labels, "startsAt": timezone.now().isoformat()}],
        timeout=5,
    )
    response.raise_for_status()


def _flags(silence_id: str, now: datetime) -> set[str]:
    silence = Silence.objects.get(alertmanager_id=silence_id)
    return {flag.kind for flag in silence_flags([silence], now=now).get(silence.pk, [])}


def test_each_flag_on_a_mix_of_real_silences(
    alertmanager: AlertmanagerServer, catalog: Catalog
) -> None:
    now = timezone.now()
    fraud = rule_matchers(catalog.fraud_latency)
    drift = rule_matchers(catalog.recsys_drift)
    ids = {
        # Clean: owner's member, reason, 3 days on a page rule, held back a firing alert.
        "clean": _create(alertmanager, fraud, now=now, hours=72),
        # 10 days on a page rule (max 7); 10 days on a ticket rule is fine (max 30).
        "over_long": _create(alertmanager, [*fraud, Matcher("env", "prod")], now=now, hours=240),
        "long_ticket_ok": _create(alertmanager, drift, now=now, hours=240, by="rob"),
        "no_reason": _create(
            alertmanager, [*fraud, Matcher("env", "canary")], now=now, hours=72, comment="tmp"
        ),
        # rob is in recsys, not fraud-ml; "mallory" is nobody Steward knows.
        "not_owner": _create(
            alertmanager, [*fraud, Matcher("env", "eu")], now=now, hours=72, by="rob"
        ),
        "unknown_creator": _create(
            alertmanager, [*fraud, Matcher("env", "us")], now=now, hours=72, by="mallory"
        ),
        # Covers rules of two teams (member of one of them: not a "not owner" case).
        "broad": _create(
            alertmanager,
            [Matcher("model", "fraud-scorer|recommender-v7", is_regex=True)],
            now=now,
            hours=72,
        ),
        "ending_soon": _create(alertmanager, [*fraud, Matcher("env", "ap")], now=now, hours=30),
    }
    # The clean silence holds back a real alert in Alertmanager; the over-long one matched a
    # recorded episode (Steward saw it firing).
    _post_alert(alertmanager, {"alertname": "ModelLatencyHigh", "model": "fraud-scorer"})
    Episode.objects.create(
        rule=catalog.fraud_latency,
        fingerprint="f" * 16,
        labels={"alertname": "ModelLatencyHigh", "model": "fraud-scorer", "env": "prod"},
        starts_at=now - timedelta(minutes=5),
        source=Source.PROMETHEUS,
    )
    deadline = now + timedelta(seconds=20)
    while True:
        silences_sync(urls=alertmanager.url)
        clean = Silence.objects.get(alertmanager_id=ids["clean"])
        if clean.last_matched_at is not None or timezone.now() > deadline:
            break
    assert clean.last_matched_at is not None
    assert Silence.objects.get(alertmanager_id=ids["over_long"]).last_matched_at is not None

    # An hour on, the policy speaks; 25 hours on, unmatched silences are orphaned.
    soon = now + timedelta(hours=1)
    expected = {
        "clean": set(),
        "over_long": {FlagKind.OVER_LONG},
        "long_ticket_ok": set(),
        "no_reason": {FlagKind.NO_REASON},
        "not_owner": {FlagKind.NOT_OWNER},
        "unknown_creator": {FlagKind.NOT_OWNER},
        "broad": {FlagKind.BROAD},
        "ending_soon": {FlagKind.ENDING_SOON},
    }
    assert {name: _flags(silence_id, soon) for name, silence_id in ids.items()} == expected

    # 25 hours on, a silence that matched nothing for 24 h is orphaned: all of them, judged on
    # what the last sync saw.
    later = now + timedelta(hours=25)
    assert all(FlagKind.ORPHANED in _flags(sid, later) for sid in ids.values())
    # A sync then finds the alert still held back in Alertmanager (clean, broad) and the
    # recorded episode still open (clean, over_long, broad: their matchers fit its labels).
    silences_sync(urls=alertmanager.url, now=later)
    orphaned = {name for name, sid in ids.items() if FlagKind.ORPHANED in _flags(sid, later)}
    assert orphaned == {
        "long_ticket_ok",
        "no_reason",
        "not_owner",
        "unknown_creator",
        "ending_soon",
    }

    # Each flag says what to do and links to the silence.
    silence = Silence.objects.get(alertmanager_id=ids["not_owner"])
    (flag,) = silence_flags([silence], now=soon)[silence.pk]
    assert "rob" in flag.message and "Fraud ML" in flag.message
    assert flag.action and flag.url == f"/silences/{silence.pk}/"


def test_orphan_enforcement_dry_run_then_live(
    alertmanager: AlertmanagerServer, catalog: Catalog
) -> None:
    now = timezone.now()
    orphan = _create(alertmanager, rule_matchers(catalog.fraud_latency), now=now, hours=72)
    recsys_orphan = _create(
        alertmanager, rule_matchers(catalog.recsys_drift), now=now, hours=72, by="rob"
    )
    shared = _create(
        alertmanager,
        [Matcher("model", "fraud-scorer|recommender-v7", is_regex=True)],
        now=now,
        hours=72,
    )
    silences_sync(urls=alertmanager.url)
    later = now + timedelta(hours=25)
    assert enforcement_plan(now=later) == []  # off by default

    TeamSilenceEnforcement.objects.create(team=catalog.fraud, mode="dry_run")
    TeamSilenceEnforcement.objects.create(team=catalog.recsys, mode="off")
    result = silences_enforce(urls=alertmanager.url, now=later)
    assert [s.alertmanager_id for s in result.would_expire] == [orphan]
    assert result.expired == []
    again = silences_enforce(urls=alertmanager.url, now=later)
    assert [s.alertmanager_id for s in again.would_expire] == [orphan]
    row = Silence.objects.get(alertmanager_id=orphan)
    (dry,) = row.events.filter(kind=SilenceEvent.Kind.WOULD_ENFORCE)  # recorded once
    assert "Orphaned" in dry.reason
    assert silence_get(alertmanager.url, orphan).state == "active"  # untouched

    TeamSilenceEnforcement.objects.filter(team=catalog.fraud).update(mode="enforce")
    result = silences_enforce(urls=alertmanager.url, now=later)
    assert [s.alertmanager_id for s in result.expired] == [orphan]
    assert silence_get(alertmanager.url, orphan).state == "expired"
    row.refresh_from_db()
    assert row.state == Silence.State.EXPIRED
    assert row.expired_by == "Steward silence policy"
    enforced = row.events.get(kind=SilenceEvent.Kind.ENFORCED)
    assert "Orphaned" in enforced.reason
    # The recsys silence (team off) and the shared one (recsys off) are left alone.
    assert silence_get(alertmanager.url, recsys_orphan).state == "active"
    assert silence_get(alertmanager.url, shared).state == "active"

    # The next sync sees Alertmanager's expiry without recording it a second time.
    silences_sync(urls=alertmanager.url)
    row.refresh_from_db()
    assert row.events.filter(kind=SilenceEvent.Kind.EXPIRED_EARLY).count() == 0
    assert row.events.filter(kind=SilenceEvent.Kind.CHANGED).count() == 0

    # Every team of the shared silence enforcing: it goes too; so does the over-long one.
    TeamSilenceEnforcement.objects.filter(team=catalog.recsys).update(mode="enforce")
    result = silences_enforce(urls=alertmanager.url, now=later)
    assert sorted(s.alertmanager_id for s in result.expired) == sorted([recsys_orphan, shared])


def test_over_long_enforcement(alertmanager: AlertmanagerServer, catalog: Catalog) -> None:
    now = timezone.now()
    long_one = _create(alertmanager, rule_matchers(catalog.fraud_latency), now=now, hours=24 * 9)
    fine = _create(
        alertmanager, [*rule_matchers(catalog.fraud_latency), Matcher("env", "x")], now=now, hours=5
    )
    silences_sync(urls=alertmanager.url)
    TeamSilenceEnforcement.objects.create(team=catalog.fraud, mode="enforce")
    result = silences_enforce(urls=alertmanager.url, now=now + timedelta(minutes=1))
    assert [s.alertmanager_id for s in result.expired] == [long_one]
    reason = Silence.objects.get(alertmanager_id=long_one).events.get(kind="enforced").reason
    assert "Over-long" in reason and "7 days" in reason
    assert silence_get(alertmanager.url, fine).state == "active"
