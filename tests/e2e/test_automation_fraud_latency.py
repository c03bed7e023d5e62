"""End to end: the fraud-latency scenario of runbook automation (issue 16).

A real Prometheus 2.42 scrapes the fraud scorer's p99 latency from a small exporter served here
and evaluates the catalogued rule `FraudScorerLatencyHigh` every second; a real Alertmanager 0.25
delivers the firing and the resolved notifications to Steward, served for real. The rule's
runbook step has an AUTOMATIC, low-risk action promoted out of dry run ("shift traffic to the
fallback model") pointing at a receiver served here: it verifies the HMAC signature with
`alerts.automation.signing.signature_verify`, records the request and, as the fallback model
would, brings the latency back to normal. Prometheus then resolves the alert, Alertmanager
delivers the resolution, and the run's verification says resolved.

Two shapes of Steward:
- in-process (both lanes): Django's live server thread, Celery eager (the embedded default);
- production (PostgreSQL lane): gunicorn with deploy/gunicorn.conf.py, DEBUG off, a Redis of
  its own for cache and broker, and a real Celery worker running the trigger, the request and
  the verification.

Binaries missing fail the test under STEWARD_REQUIRE_SERVICES=1 (skip otherwise). Real
processes keep the real clock; every port is one the kernel picks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from alerts.automation import services
from alerts.automation.models import Action, ActionRun, AutomationEvent
from alerts.models import AlertRule, Delivery, Episode
from fleet.models import AISystem, Membership, Team
from runbooks.models import Runbook
from runbooks.services import runbook_save
from tests.conftest import require_service
from tests.e2e.test_alertmanager_e2e import live_steward
from tests.faults import conftest as faults
from tests.support.processes import (
    AlertingPrometheus,
    AlertmanagerServer,
    CeleryWorker,
    RedisServer,
    free_port,
    free_ports,
    webhook_route_config,
)
from tests.support.webhook import Received, WebhookServer, webhook_server
from tokens.models import ApiToken
from tokens.services import token_create

# The fault tests' real processes: PostgreSQL, a Redis of our own, gunicorn, Celery workers.
pg = faults.pg
redis_server = faults.redis_server
gunicorn = faults.gunicorn
worker = faults.worker

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

ALERTNAME = "FraudScorerLatencyHigh"
METRIC = "fraud_scorer_p99_latency_seconds"
THRESHOLD = 0.5
SPIKE, NORMAL = 2.4, 0.08
SIGNING_KEY = "TESTSECRETfraud-fallback-signing-key"
SECRETS_KEY = Fernet.generate_key().decode()  # shared with the production shape's processes
WAIT_SECONDS = 60
WEBHOOK = "/api/v1/integrations/alertmanager/"
BODY = (
    '{"model": {{ labels.model }}, "instance": {{ labels.instance }}, '
    '"summary": {{ annotations.summary }}, "episode": {{ episode.id }}, '
    '"attempt": {{ run.attempt }}, "to": "fallback"}'
)
RULES = {
    "groups": [
        {
            "name": "fraud-scorer",
            "interval": "1s",
            "rules": [
                {
                    "alert": ALERTNAME,
                    "expr": f"{METRIC} > {THRESHOLD}",
                    "labels": {"severity": "page", "team": "fraud-ml"},
                    "annotations": {"summary": "p99 latency of {{ $labels.model }} above 500 ms"},
                }
            ],
        }
    ]
}


class LatencyExporter(ThreadingHTTPServer):
    """The fraud scorer's /metrics: its p99 latency, spiking until the traffic shifts."""

    latency = SPIKE

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


class _ExporterHandler(BaseHTTPRequestHandler):
    server: LatencyExporter

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        body = (
            f'# TYPE {METRIC} gauge\n{METRIC}{{model="fraud-scorer"}} {self.server.latency}\n'
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@contextmanager
def latency_exporter() -> Iterator[LatencyExporter]:
    server = LatencyExporter(("127.0.0.1", 0), _ExporterHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Scenario:
    rule: AlertRule
    action: Action
    exporter: LatencyExporter
    receiver: WebhookServer
    workdir: Path


@pytest.fixture
def scenario(
    transactional_db: None, settings: SettingsWrapper, tmp_path: Path
) -> Iterator[Scenario]:
    """The catalogue (team, system, runbook, rule, automatic action), the exporter and the
    receiver whose request shifts the traffic (the latency falls back to normal)."""
    require_service(
        AlertingPrometheus.available() and AlertmanagerServer.available(),
        "Debian's prometheus and prometheus-alertmanager",
    )
    settings.STEWARD_AUTOMATION_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    settings.STEWARD_SECRETS_KEY = SECRETS_KEY
    team = Team.objects.create(slug="fraud-ml", name="Fraud ML")
    owner = User.objects.create_user("owner", password="pw-for-tests")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.LEAD)
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=team)
    runbook = runbook_save(
        runbook=Runbook(slug="fraud-latency", title="Fraud scorer latency", owner_team=team),
        author=owner,
        body="## Mitigate\nShift traffic to the fallback model.",
        note="first",
    )
    rule = AlertRule.objects.create(
        alertname=ALERTNAME,
        matchers={"model": "fraud-scorer"},
        severity="page",
        layer="infra",
        owner_team=team,
        system=system,
        runbook=runbook,
    )
    with latency_exporter() as exporter, webhook_server() as receiver:
        receiver.behaviour.signing_key = SIGNING_KEY

        def shift_traffic(request: Received) -> None:
            exporter.latency = NORMAL

        receiver.behaviour.on_receive = shift_traffic
        action = services.action_create(
            user=owner,
            team_id=team.pk,
            runbook_id=runbook.pk,
            name="Shift traffic to the fallback model",
            url=f"{receiver.url}/shift",
            signing_key=SIGNING_KEY,
            body_template=BODY,
            trigger=Action.Trigger.AUTOMATIC,
            risk=Action.Risk.LOW,
            auto_delay_seconds=0,
            cooldown_seconds=0,
            verify_resolution_seconds=WAIT_SECONDS,
        )
        action = services.action_promote(action=action, user=owner)
        yield Scenario(rule, action, exporter, receiver, tmp_path)


@contextmanager
def alerting(steward_url: str, scenario: Scenario) -> Iterator[None]:
    """Prometheus scraping the exporter and evaluating the rule every second; Alertmanager
    delivering to Steward's webhook with an ingest token (1 s group wait and interval)."""
    _, token = token_create(name="alertmanager", scope=ApiToken.Scope.INGEST)
    prom_port, am_port = free_ports(2)
    alertmanager = AlertmanagerServer(
        am_port,
        scenario.workdir / "am",
        config=webhook_route_config(
            steward_url + WEBHOOK,
            group_wait="1s",
            group_interval="1s",
            repeat_interval="1h",
            bearer_token=token,
        ),
    )
    prometheus = AlertingPrometheus(
        prom_port,
        scenario.workdir / "prom",
        rules=RULES,
        alertmanager_port=am_port,
        scrape_targets=[scenario.exporter.target],
    )
    alertmanager.start()
    try:
        prometheus.start()
        try:
            yield
        finally:
            prometheus.stop()
    finally:
        alertmanager.stop()


def _wait_for_resolved_verification(scenario: Scenario, logs: Callable[[], str]) -> ActionRun:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        run = ActionRun.objects.filter(action=scenario.action).first()
        if run is not None and run.verification == ActionRun.Verification.RESOLVED:
            return run
        time.sleep(0.3)
    pytest.fail(
        f"no resolved verification within {WAIT_SECONDS} s:\n"
        f"deliveries {list(Delivery.objects.values_list('outcome', 'error'))}\n"
        f"episodes {list(Episode.objects.values_list('labels', 'starts_at', 'ends_at'))}\n"
        f"runs {list(ActionRun.objects.values_list('state', 'outcome', 'verification'))}\n"
        f"events {list(AutomationEvent.objects.order_by('id').values_list('kind', 'message'))}\n"
        f"receiver {scenario.receiver.received}\n{logs()[-4000:]}"
    )


def _assert_remediated(scenario: Scenario, run: ActionRun) -> None:
    """One episode, remediated by one correctly signed request, resolved by Alertmanager, and
    every step in the audit, in order."""
    [episode] = Episode.objects.filter(rule=scenario.rule)
    assert episode.ends_at is not None  # Alertmanager delivered the resolution
    assert episode.labels["alertname"] == ALERTNAME
    assert episode.labels["instance"] == scenario.exporter.target
    assert Delivery.objects.filter(outcome="accepted").count() >= 2  # firing, then resolved

    assert (run.episode_id, run.trigger) == (episode.pk, ActionRun.TriggerKind.AUTOMATIC)
    assert run.state == ActionRun.State.SUCCEEDED, run.outcome
    assert run.response_status == 200
    assert run.verification == ActionRun.Verification.RESOLVED
    assert run.started_at is not None and run.started_at < episode.ends_at  # cause, then effect
    assert ActionRun.objects.filter(action=scenario.action).count() == 1

    [request] = scenario.receiver.received
    assert request.signature_valid is True
    assert (request.method, request.path) == ("POST", "/shift")
    assert request.body == {
        "model": "fraud-scorer",
        "instance": scenario.exporter.target,
        "summary": "p99 latency of fraud-scorer above 500 ms",
        "episode": episode.pk,
        "attempt": 1,
        "to": "fallback",
    }
    assert request.headers["X-Steward-Idempotency-Key"] == f"{scenario.action.pk}-{episode.pk}-1"
    assert SIGNING_KEY not in str(run.request)  # the audit never holds the secret

    kinds = list(
        AutomationEvent.objects.filter(run=run).order_by("id").values_list("kind", flat=True)
    )
    Kind = AutomationEvent.Kind
    assert kinds == [
        Kind.TRIGGER,
        Kind.QUEUED,
        Kind.REQUEST,
        Kind.RESPONSE,
        Kind.OUTCOME,
        Kind.VERIFICATION,
    ]
    events = {e.kind: e for e in AutomationEvent.objects.filter(run=run)}
    assert all(e.episode_id == episode.pk and e.actor_id is None for e in events.values())
    assert events[Kind.TRIGGER].data["trigger"] == "automatic"
    assert events[Kind.RESPONSE].data["status"] == 200
    assert events[Kind.VERIFICATION].data == {"verification": "resolved"}
    assert not AutomationEvent.objects.filter(kind__in=[Kind.REFUSED, Kind.DRY_RUN]).exists()


def test_the_fraud_latency_alert_remediates_itself_with_steward_in_process(
    scenario: Scenario,
) -> None:
    with live_steward(free_port()) as steward, alerting(steward, scenario):
        run = _wait_for_resolved_verification(scenario, logs=lambda: "")
    _assert_remediated(scenario, run)


@pytest.mark.services
def test_the_fraud_latency_alert_remediates_itself_in_the_production_shape(
    scenario: Scenario,
    redis_server: RedisServer,
    gunicorn: Callable[..., faults.Gunicorn],
    worker: Callable[..., CeleryWorker],
) -> None:
    broker_url = f"redis://127.0.0.1:{redis_server.port}/1"
    shared = {
        "DEBUG": "0",
        "SECRET_KEY": "fraud-latency-e2e-key-" + "x" * 40,
        "STEWARD_SECRETS_KEY": SECRETS_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "REDIS_URL": redis_server.url,
        "CELERY_BROKER_URL": broker_url,
        "STEWARD_AUTOMATION_ALLOWED_HOSTS": "127.0.0.1",
        "STEWARD_OUTBOUND_ALLOW_NETWORKS": "127.0.0.1/32",
    }
    metrics = scenario.workdir / "metrics"
    metrics.mkdir()
    with ThreadPoolExecutor(max_workers=2) as starting:
        web = starting.submit(gunicorn, **shared, PROMETHEUS_MULTIPROC_DIR=str(metrics))
        work = starting.submit(worker, broker_url, **shared)
        steward, celery = web.result(), work.result()
    with alerting(steward.base, scenario):
        run = _wait_for_resolved_verification(scenario, logs=lambda: steward.log() + celery.log())
    _assert_remediated(scenario, run)
    # The worker, not the web process, ran the trigger and the request.
    assert "automation.automatic_trigger" in celery.log()
    assert "automation.execute_run" in celery.log()
