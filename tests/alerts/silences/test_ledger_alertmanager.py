"""The silence ledger against a real Alertmanager 0.25: silences made with amtool appear with
their coverage, changes and early expiry and vanishing are recorded, an HA pair counts once."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from alerts.silences.client import (
    AlertmanagerUnavailable,
    silence_create,
    silence_expire,
    silences_fetch,
    silences_list,
)
from alerts.silences.matchers import Matcher, rule_matchers
from alerts.silences.models import Silence, SilenceEvent
from alerts.silences.services import silences_sync
from tests.alerts.silences.conftest import Catalog
from tests.support.processes import AlertmanagerServer

pytestmark = pytest.mark.e2e

AMTOOL = "/usr/bin/amtool"


def amtool(server: AlertmanagerServer, *args: str) -> str:
    if shutil.which(AMTOOL) is None:
        pytest.skip("amtool not installed")
    done = subprocess.run(
        [AMTOOL, f"--alertmanager.url={server.url}", *args],
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    )
    return done.stdout.strip()


def _kinds(silence: Silence) -> list[str]:
    return list(silence.events.values_list("kind", flat=True))


def test_amtool_silences_appear_with_their_coverage(
    alertmanager: AlertmanagerServer, catalog: Catalog
) -> None:
    exact = amtool(
        alertmanager,
        "silence",
        "add",
        "alertname=ModelLatencyHigh",
        "model=fraud-scorer",
        "--author=alice",
        "--comment=INC-1: fraud latency during the feature store migration",
        "--duration=2h",
    )
    broad = amtool(
        alertmanager,
        "silence",
        "add",
        'model=~"fraud-scorer|recommender-v7"',
        "--author=ops@example.com",
        "--comment=maintenance window",
        "--duration=1h",
    )
    partial = amtool(
        alertmanager,
        "silence",
        "add",
        "alertname=ModelLatencyHigh",
        "instance=gpu-7",
        "--author=rob",
        "--comment=gpu-7 is being replaced",
        "--duration=30m",
    )
    nothing = amtool(
        alertmanager, "silence", "add", "job=unknown", "--author=x", "--comment=y", "--duration=1h"
    )

    result = silences_sync(urls=alertmanager.url)

    assert (result.listed, result.created) == (4, 4)
    exact_row = Silence.objects.get(alertmanager_id=exact)
    assert exact_row.state == Silence.State.ACTIVE
    assert exact_row.created_by == "alice"
    assert exact_row.comment.startswith("INC-1")
    assert exact_row.matcher_list == [
        Matcher("alertname", "ModelLatencyHigh"),
        Matcher("model", "fraud-scorer"),
    ]
    assert {c.rule_id: c.kind for c in exact_row.coverage.all()} == {
        catalog.fraud_latency.pk: "full"
    }
    assert list(exact_row.teams.values_list("slug", flat=True)) == ["fraud-ml"]
    broad_row = Silence.objects.get(alertmanager_id=broad)
    assert {c.rule_id: c.kind for c in broad_row.coverage.all()} == {
        catalog.fraud_latency.pk: "full",
        catalog.recsys_latency.pk: "full",
        catalog.recsys_drift.pk: "full",
    }
    assert sorted(broad_row.teams.values_list("slug", flat=True)) == ["fraud-ml", "recsys"]
    partial_row = Silence.objects.get(alertmanager_id=partial)
    assert {c.rule_id: c.kind for c in partial_row.coverage.all()} == {
        catalog.fraud_latency.pk: "partial",
        catalog.recsys_latency.pk: "partial",
    }
    assert not Silence.objects.get(alertmanager_id=nothing).coverage.exists()
    assert _kinds(exact_row) == ["seen"]

    # Nothing changed: a second sync records nothing new.
    again = silences_sync(urls=alertmanager.url)
    assert (again.created, again.changed, again.vanished) == (0, 0, 0)
    assert SilenceEvent.objects.count() == 4

    # `manage.py sync_silences` does the same on demand.
    out = call_command_output("sync_silences", f"--alertmanager-url={alertmanager.url}")
    assert "4 silences listed: 0 new" in out


def call_command_output(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_changes_early_expiry_and_vanishing_are_recorded(
    alertmanager: AlertmanagerServer, catalog: Catalog
) -> None:
    now = timezone.now()
    kept = silence_create(
        alertmanager.url,
        matchers=rule_matchers(catalog.recsys_drift),
        starts_at=now,
        ends_at=now + timedelta(hours=4),
        created_by="rob",
        comment="drift expected after retraining",
    )
    expired = amtool(
        alertmanager,
        "silence",
        "add",
        "alertname=ModelLatencyHigh",
        "--author=alice",
        "--comment=deploy",
        "--duration=3h",
    )
    silences_sync(urls=alertmanager.url)

    # Extended in Alertmanager (same id: only the end and the comment change).
    assert (
        silence_create(
            alertmanager.url,
            matchers=rule_matchers(catalog.recsys_drift),
            starts_at=now,
            ends_at=now + timedelta(hours=8),
            created_by="rob",
            comment="drift expected after retraining; extended",
            silence_id=kept,
        )
        == kept
    )
    amtool(alertmanager, "silence", "expire", expired)
    result = silences_sync(urls=alertmanager.url)

    assert (result.changed, result.expired_early) == (1, 1)
    kept_row = Silence.objects.get(alertmanager_id=kept)
    change = kept_row.events.get(kind=SilenceEvent.Kind.CHANGED)
    assert {"ends_at", "comment"} <= set(change.detail)
    assert kept_row.ends_at - kept_row.starts_at > timedelta(hours=7)
    expired_row = Silence.objects.get(alertmanager_id=expired)
    assert expired_row.state == Silence.State.EXPIRED
    assert expired_row.expired_early_at is not None
    assert expired_row.expired_early_at < now + timedelta(hours=3)
    assert "outside Steward" in expired_row.expired_by
    assert _kinds(expired_row) == ["seen", "expired_early"]

    # Alertmanager loses its silences (restarted without its storage): they vanish.
    alertmanager.stop()
    shutil.rmtree(alertmanager.workdir / "data")
    alertmanager.start()
    result = silences_sync(urls=alertmanager.url)
    assert result.vanished == 2
    kept_row.refresh_from_db()
    assert kept_row.vanished_at is not None
    assert "gone while live" in kept_row.events.get(kind=SilenceEvent.Kind.VANISHED).reason
    assert "retention" in expired_row.events.get(kind=SilenceEvent.Kind.VANISHED).reason
    # Vanished silences show in the expired tab, never as live.
    assert not Silence.objects.live().exists()


def test_unreachable_alertmanager_raises_and_changes_nothing(catalog: Catalog) -> None:
    with pytest.raises(AlertmanagerUnavailable):
        silences_sync(urls="http://127.0.0.1:9")
    with pytest.raises(AlertmanagerUnavailable):
        silence_expire("http://127.0.0.1:9", "00000000-0000-0000-0000-000000000000")
    assert not Silence.objects.exists()


def test_expire_is_idempotent_and_an_unknown_id_is_not_an_error(
    alertmanager: AlertmanagerServer,
) -> None:
    now = timezone.now()
    silence_id = silence_create(
        alertmanager.url,
        matchers=[Matcher("alertname", "A")],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="t",
        comment="test",
    )
    assert silence_expire(alertmanager.url, silence_id) is True
    assert silence_expire(alertmanager.url, silence_id) is True  # already expired: fine
    assert silence_expire(alertmanager.url, "00000000-0000-0000-0000-000000000000") is False
    (listed,) = silences_list(alertmanager.url)
    assert listed.state == "expired"


def _wait_listed(server: AlertmanagerServer, count: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if len(requests.get(f"{server.url}/api/v2/silences", timeout=2).json()) == count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{server.url} did not list {count} silences")


def test_ha_pair_counts_each_silence_once(
    am_pair: tuple[AlertmanagerServer, AlertmanagerServer], catalog: Catalog
) -> None:
    first, second = am_pair
    urls = f"{first.url}, {second.url}"
    now = timezone.now()
    ids = [
        silence_create(
            urls,
            matchers=rule_matchers(rule),
            starts_at=now,
            ends_at=now + timedelta(hours=2),
            created_by="alice",
            comment=f"pair test {rule.pk}",
        )
        for rule in (catalog.fraud_latency, catalog.recsys_drift)
    ]
    # Writes went to the first peer; gossip carries them to the second.
    _wait_listed(second, 2)

    listing = silences_fetch(urls)
    assert sorted(s.id for s in listing.silences) == sorted(ids)
    assert listing.reached == [first.url, second.url]
    result = silences_sync(urls=urls)
    assert (result.listed, result.created) == (2, 2)
    assert Silence.objects.count() == 2

    # One peer down: the other answers for the cluster; nothing vanishes, writes go to it.
    first.stop()
    result = silences_sync(urls=urls)
    assert (result.listed, result.vanished) == (2, 0)
    assert list(result.unreachable) == [first.url]
    third = silence_create(
        urls,
        matchers=[Matcher("alertname", "FeatureDriftHigh")],
        starts_at=now,
        ends_at=now + timedelta(hours=1),
        created_by="rob",
        comment="while the first peer is down",
    )
    assert third in {s.id for s in silences_list(second.url)}
    # A peer missing a silence the other holds (not yet gossiped, or an unclustered pair)
    # still counts it once.
    assert len(silences_list(f"{second.url},{second.url}/")) == 3


def test_beat_task_and_staff_button_sync_on_demand(
    alertmanager: AlertmanagerServer, catalog: Catalog, settings: object
) -> None:
    from django.contrib.auth.models import User
    from django.test import Client

    from alerts.silences.tasks import sync_silences

    settings.ALERTMANAGER_URL = alertmanager.url  # type: ignore[attr-defined]
    amtool(
        alertmanager, "silence", "add", "alertname=FeatureDriftHigh", "--comment=a", "--author=rob"
    )
    summary = sync_silences.delay().get()
    assert summary.startswith("1 silences listed: 1 new")
    amtool(
        alertmanager, "silence", "add", "alertname=ModelLatencyHigh", "--comment=b", "--author=rob"
    )
    staff = User.objects.create_user("boss", is_staff=True)
    client = Client()
    client.force_login(staff)
    response = client.post("/silences/sync/", follow=True)
    assert "Synced: 2 silences listed: 1 new" in response.content.decode()
    assert Silence.objects.count() == 2
