"""End to end: Debian's Prometheus and Alertmanager, started here, deliver to a live Steward.

Prometheus evaluates rules every second that fire for 5 s out of 10 (plus one that always
fires); Alertmanager groups by alertname with 1 s waits and posts to Steward with a bearer
token. Once a fire → resolve → fire cycle has arrived, what Steward stored must equal what
Alertmanager holds and sent, and `backfill_alerts` against that Prometheus must add nothing.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from django.core.management import call_command
from django.db import connections
from django.test.testcases import LiveServerThread, _StaticFilesHandler

from alerts.integrations.alertmanager.backfill import alerts_backfill
from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.models import Delivery, Episode
from tests.conftest import require_service
from tests.support.processes import AlertmanagerServer, free_ports
from tokens.models import ApiToken
from tokens.services import token_create

PROMETHEUS = "/usr/bin/prometheus"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
# Free ports the kernel picks, so that parallel suites on one host never collide.
PROM_PORT, AM_PORT, STEWARD_PORT = free_ports(3)
WAIT_SECONDS = 40

RULES = {
    "groups": [
        {
            "name": "fleet",
            "interval": "1s",
            "rules": [
                {
                    "alert": "ModelLatencyHigh",
                    "expr": "vector(time()) % 10 < 5",
                    "labels": {
                        "severity": "page",
                        "team": "fraud-ml",
                        "model": "fraud-scorer",
                        "env": "prod",
                    },
                    "annotations": {"summary": "p99 latency above SLO"},
                },
                {
                    "alert": "ModelLatencyHigh",
                    "expr": "vector(time()) % 10 < 5",
                    "labels": {
                        "severity": "page",
                        "team": "recsys",
                        "model": "recommender-v7",
                        "env": "prod",
                    },
                    "annotations": {"summary": "p99 latency above SLO"},
                },
                {
                    "alert": "FeatureDriftHigh",
                    "expr": "vector(0.31)",
                    "labels": {"severity": "ticket", "team": "recsys", "model": "recommender-v7"},
                    "annotations": {"summary": "PSI above 0.2"},
                },
            ],
        }
    ]
}
FRAUD_LABELS = {"alertname": "ModelLatencyHigh", **RULES["groups"][0]["rules"][0]["labels"]}


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _wait_ready(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} did not become ready at {url}")


@contextmanager
def live_steward(port: int) -> Iterator[str]:
    """Steward on its own port, sharing the test database (as LiveServerTestCase does)."""
    overrides = {}
    for conn in connections.all():
        if conn.vendor == "sqlite" and conn.is_in_memory_db():
            overrides[conn.alias] = conn
            conn.inc_thread_sharing()
    thread = LiveServerThread(
        "127.0.0.1", _StaticFilesHandler, connections_override=overrides, port=port
    )
    thread.daemon = True
    thread.start()
    thread.is_ready.wait(10)
    if thread.error:
        raise thread.error
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        thread.terminate()
        for conn in overrides.values():
            conn.dec_thread_sharing()


@contextmanager
def alerting_stack(
    *, steward_url: str, rules: dict[str, Any], prom_port: int, am_port: int, workdir: Path
) -> Iterator[dict[str, str]]:
    """Debian's Prometheus (these rules, evaluated every second) and Alertmanager (grouping by
    alertname, 1 s waits) delivering to Steward's webhook with an ingest token."""
    available = Path(PROMETHEUS).exists() and Path(ALERTMANAGER).exists()
    require_service(available, "Debian's prometheus and prometheus-alertmanager")
    require_service(
        _port_free(prom_port) and _port_free(am_port), f"free ports {prom_port}/{am_port}"
    )
    _, raw = token_create(name="e2e", scope=ApiToken.Scope.INGEST)
    am_config = {
        "route": {
            "receiver": "steward",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "steward",
                "webhook_configs": [
                    {
                        "url": f"{steward_url}/api/v1/integrations/alertmanager/",
                        "send_resolved": True,
                        "http_config": {"authorization": {"type": "Bearer", "credentials": raw}},
                    }
                ],
            }
        ],
    }
    prom_config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(workdir / "rules.yml")],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]
        },
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(prom_config))
    (workdir / "rules.yml").write_text(yaml.safe_dump(rules))
    processes: list[subprocess.Popen[bytes]] = []
    alertmanager = AlertmanagerServer(am_port, workdir, config=am_config)
    try:
        try:
            alertmanager.start()
        except RuntimeError as error:
            pytest.fail(str(error))
        prom = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "prometheus.log").open("wb"),
        )
        processes.append(prom)
        _wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", prom, "Prometheus")
        yield {
            "prometheus": f"http://127.0.0.1:{prom_port}",
            "alertmanager": f"http://127.0.0.1:{am_port}",
        }
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        alertmanager.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def steward_server(transactional_db: None) -> Iterator[str]:
    with live_steward(STEWARD_PORT) as url:
        yield url


@pytest.fixture
def stack(steward_server: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    with alerting_stack(
        steward_url=steward_server,
        rules=RULES,
        prom_port=PROM_PORT,
        am_port=AM_PORT,
        workdir=tmp_path,
    ) as urls:
        yield urls


def _fire_resolve_fire_delivered() -> bool:
    episodes = list(Episode.objects.filter(fingerprint=fingerprint(FRAUD_LABELS)))
    closed = [e for e in episodes if e.ends_at is not None]
    return any(e.starts_at > c.ends_at for c in closed for e in episodes if c.ends_at)


def _am_alerts(url: str) -> list[dict[str, Any]]:
    response = requests.get(f"{url}/api/v2/alerts", timeout=5)
    response.raise_for_status()
    return [a for a in response.json() if a["status"]["state"] == "active"]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _stored_matches_alertmanager(url: str) -> bool:
    """Every alert Alertmanager holds is an open episode with the same fingerprint, start and
    labels, and the only open prometheus episodes are those Alertmanager holds."""
    active = _am_alerts(url)
    held = {(a["fingerprint"], _at(a["startsAt"])) for a in active}
    open_episodes = {(e.fingerprint, e.starts_at) for e in Episode.objects.open()}
    if held != open_episodes:
        return False
    for alert in active:
        episode = Episode.objects.get(fingerprint=alert["fingerprint"], ends_at__isnull=True)
        assert episode.labels == alert["labels"]
        assert fingerprint(episode.labels) == alert["fingerprint"]
    return True


@pytest.mark.e2e
def test_alertmanager_delivers_fire_resolve_fire_and_backfill_adds_nothing(
    stack: dict[str, str],
) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not _fire_resolve_fire_delivered():
        if time.monotonic() > deadline:
            pytest.fail(
                f"no fire → resolve → fire within {WAIT_SECONDS} s; deliveries: "
                f"{list(Delivery.objects.values_list('outcome', 'error'))}"
            )
        time.sleep(0.5)

    # What Steward stored equals what Alertmanager holds (retried: a state change may be in
    # flight between the two reads).
    consistent_by = time.monotonic() + 10
    while not _stored_matches_alertmanager(stack["alertmanager"]):
        if time.monotonic() > consistent_by:
            pytest.fail("Steward's open episodes never matched Alertmanager's active alerts")
        time.sleep(0.3)

    assert not Delivery.objects.filter(outcome="rejected").exists()
    rule_labels = [{"alertname": r["alert"], **r["labels"]} for r in RULES["groups"][0]["rules"]]
    for episode in Episode.objects.select_related("rule"):
        assert episode.labels in rule_labels
        assert episode.annotations["summary"].startswith(("p99", "PSI"))
        assert episode.rule.alertname == episode.labels["alertname"]
        assert episode.rule.catalogued is False
    _assert_no_overlap()

    # Backfill from just before the first delivered firing to 3 s after the last delivered
    # resolve (the rules stay quiet for 5 s): every run in there was delivered by the webhook,
    # so the backfill must match them all and add no episode.
    first_start = Episode.objects.order_by("starts_at").first()
    last_resolve = max(e.ends_at for e in Episode.objects.exclude(ends_at=None) if e.ends_at)
    assert first_start is not None
    until = last_resolve + timedelta(seconds=3)
    before = Episode.objects.count()
    result = alerts_backfill(
        prometheus_url=stack["prometheus"],
        since=first_start.starts_at - timedelta(seconds=2),
        until=until,
        step=timedelta(seconds=1),
    )
    assert result.series >= 2
    assert result.matched >= 2
    assert result.inserted == 0
    assert Episode.objects.count() == before

    # Over the whole history the command may add what Alertmanager never received (Prometheus
    # drops alerts it evaluates before it has discovered Alertmanager) but never a second
    # episode for a firing that is stored.
    out = StringIO()
    call_command(
        "backfill_alerts",
        "--since",
        "5m",
        "--step",
        "1s",
        "--until",
        until.isoformat(),
        "--prometheus-url",
        stack["prometheus"],
        stdout=out,
    )
    assert "episodes inserted" in out.getvalue()
    _assert_no_overlap()


def _assert_no_overlap() -> None:
    for fp in set(Episode.objects.values_list("fingerprint", flat=True)):
        spans = list(Episode.objects.filter(fingerprint=fp).order_by("starts_at"))
        for before, after in zip(spans, spans[1:], strict=False):
            assert before.ends_at is not None and before.ends_at <= after.starts_at
