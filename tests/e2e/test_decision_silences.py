"""Mute decisions carried out in a real Alertmanager 0.25 (Debian's), with a real Prometheus
keeping the alert firing and a real webhook receiver counting notifications.

- a mute creates exactly one silence for exactly the rule, createdBy the decider, with the
  week, the note and the decision's link; repeating the carry-out (a retry, a lost id) adopts
  it instead of making a second; undo expires it;
- the silence really stops Alertmanager's notifications while Prometheus keeps firing, and
  they resume after undo and after a short mute expires;
- Alertmanager stopped mid-decision: the decision is recorded and shown "pending, retrying",
  and once Alertmanager is back the sweep makes exactly one silence;
- a silence expired or lost outside Steward shows on the decision and flags the rule.

Ports are free ones the kernel picks (`free_ports`). Real processes keep the real clock, so
nothing here is pinned to tests.support.clock.NOW; every time is relative to now.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone

from alerts.models import AlertRule, Decision
from alerts.review import carry_out
from alerts.review.services import decision_record, decision_undo
from alerts.review.tasks import decision_silences_sweep
from config.celery import app
from core.weeks import week_of
from fleet.models import Team
from tests.alerts.test_tasks_worker import _database_url, _forget_connections
from tests.conftest import require_service
from tests.support.processes import (
    AlertingPrometheus,
    AlertmanagerServer,
    CeleryWorker,
    free_ports,
    webhook_route_config,
)
from tests.support.webhook import WebhookServer, webhook_server

pytestmark = pytest.mark.e2e

AM_PORT, AM_DOWN_PORT, PROM_PORT = free_ports(3)
State = Decision.SilenceState


def _silences(url: str) -> list[dict[str, Any]]:
    response = requests.get(f"{url}/api/v2/silences", timeout=5)
    response.raise_for_status()
    return list(response.json())


def _active(url: str) -> list[dict[str, Any]]:
    return [s for s in _silences(url) if s["status"]["state"] == "active"]


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[AlertmanagerServer]:
    require_service(AlertmanagerServer.available(), "Debian's prometheus-alertmanager")
    server = AlertmanagerServer(AM_PORT, tmp_path / "am")
    server.start()
    try:
        with override_settings(ALERTMANAGER_URL=server.url):
            yield server
    finally:
        server.stop()


@pytest.fixture
def rules(team: Team) -> dict[str, AlertRule]:
    """Two rules sharing an alertname: the silence must select only the muted one."""
    return {
        model: AlertRule.objects.create(
            alertname="ModelLatencyHigh",
            matchers={"model": model},
            owner_team=team,
            severity="page",
        )
        for model in ("fraud-scorer", "recommender")
    }


def _mute(
    user: User, rule: AlertRule, capture: Callable[..., Any], *, seconds: float = 86400
) -> Decision:
    now = timezone.now()
    with capture(execute=True):
        decision = decision_record(
            user=user,
            rule=rule,
            week=week_of(now),
            kind="mute",
            note="known issue, fix in JIRA-42",
            mute_until=now + timedelta(seconds=seconds),
        )
    decision.refresh_from_db()
    return decision


def test_mute_creates_one_silence_for_exactly_the_rule_and_undo_expires_it(
    alertmanager: AlertmanagerServer,
    rules: dict[str, AlertRule],
    member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    decision = _mute(member, rules["fraud-scorer"], django_capture_on_commit_callbacks)
    assert decision.silence_state == State.CREATED, decision.silence_error
    (silence,) = _active(alertmanager.url)
    assert silence["id"] == decision.silence_id
    assert silence["createdBy"] == member.username
    matchers = {(m["name"], m["value"], m["isEqual"], m["isRegex"]) for m in silence["matchers"]}
    assert matchers == {
        ("alertname", "ModelLatencyHigh", True, False),
        ("model", "fraud-scorer", True, False),
    }
    assert decision.week in silence["comment"] and "JIRA-42" in silence["comment"]
    assert carry_out.decision_url(decision) in silence["comment"]
    # The mute is carried out: done by Steward itself.
    assert decision.done_at is not None and decision.done_by is None
    assert decision.carried_out_note.startswith(f"carried out: silence {decision.silence_id}")

    # A retry, and a retry after a crash that lost the id, adopt the silence.
    carry_out.decision_carry_out(decision.pk)
    Decision.objects.filter(pk=decision.pk).update(silence_id="", silence_state=State.RETRYING)
    carry_out.decision_carry_out(decision.pk)
    decision.refresh_from_db()
    assert decision.silence_id == silence["id"]
    assert len(_silences(alertmanager.url)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        decision_undo(user=member, decision=decision)
    decision.refresh_from_db()
    assert decision.silence_state == State.EXPIRED
    assert _active(alertmanager.url) == []
    rule = rules["fraud-scorer"]
    rule.refresh_from_db()
    assert rule.status == "active"


def test_a_new_mute_replaces_the_old_silence_without_a_gap(
    alertmanager: AlertmanagerServer,
    rules: dict[str, AlertRule],
    member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    rule = rules["recommender"]
    first = _mute(member, rule, django_capture_on_commit_callbacks)
    second = _mute(member, rule, django_capture_on_commit_callbacks, seconds=2 * 86400)
    first.refresh_from_db()
    assert first.superseded_by_id == second.pk and first.silence_state == State.EXPIRED
    (live,) = _active(alertmanager.url)
    assert live["id"] == second.silence_id != first.silence_id


def test_alertmanager_down_mid_decision_is_retried_without_loss_or_duplicate(
    tmp_path: Path,
    rules: dict[str, AlertRule],
    member: User,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    require_service(AlertmanagerServer.available(), "Debian's prometheus-alertmanager")
    server = AlertmanagerServer(AM_DOWN_PORT, tmp_path / "am")
    server.start()
    try:
        with override_settings(ALERTMANAGER_URL=server.url):
            server.stop()  # goes down as the decision is taken
            decision = _mute(member, rules["fraud-scorer"], django_capture_on_commit_callbacks)
            assert Decision.objects.filter(pk=decision.pk).exists()  # recorded
            assert decision.silence_state == State.RETRYING
            assert decision.silence_attempts == 1 and decision.silence_id == ""
            client.force_login(member)
            page = client.get(f"/review/decisions/{decision.pk}/").content.decode()
            assert "silence pending, retrying" in page
            week_page = client.get(f"/review/{decision.week}/").content.decode()
            assert "silence pending, retrying" in client.get("/review/effect/").content.decode()
            assert week_page  # renders while Alertmanager is down
            decision_silences_sweep()  # still down: a second attempt, nothing made
            decision.refresh_from_db()
            assert decision.silence_state == State.RETRYING and decision.silence_attempts == 2

            server.start()
            decision_silences_sweep()
            decision_silences_sweep()  # and again: idempotent
            decision.refresh_from_db()
            assert decision.silence_state == State.CREATED
            (silence,) = _silences(server.url)
            assert silence["id"] == decision.silence_id
            assert silence["status"]["state"] == "active"
    finally:
        server.stop()


def test_silence_expired_or_lost_outside_steward_flags_the_rule(
    alertmanager: AlertmanagerServer,
    rules: dict[str, AlertRule],
    member: User,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    expired = _mute(member, rules["fraud-scorer"], django_capture_on_commit_callbacks)
    lost = _mute(member, rules["recommender"], django_capture_on_commit_callbacks)
    # Someone expires one in the Alertmanager UI (amtool does the same DELETE).
    requests.delete(f"{alertmanager.url}/api/v2/silence/{expired.silence_id}", timeout=5)
    assert carry_out.decision_silences_check() == 1
    expired.refresh_from_db()
    assert expired.silence_state == State.SHORTENED
    assert "expired outside Steward" in expired.silence_error
    client.force_login(member)
    rule_page = client.get(f"/alerts/{expired.rule_id}/").content.decode()
    assert "Shortened outside Steward" in rule_page
    week_page = client.get(f"/review/{expired.week}/").content.decode()
    assert 'id="silence-trouble"' in week_page and "ModelLatencyHigh" in week_page

    # Alertmanager loses its data: the other silence vanishes; its decision's page sees it.
    alertmanager.stop()
    for path in sorted((alertmanager.workdir / "data").glob("*")):
        path.unlink()
    alertmanager.start()
    # The decision's page checks a silence checked more than a minute ago.
    stale = timezone.now() - timedelta(minutes=5)
    Decision.objects.filter(pk=lost.pk).update(silence_checked_at=stale)
    page = client.get(f"/review/decisions/{lost.pk}/").content.decode()
    lost.refresh_from_db()
    assert lost.silence_state == State.VANISHED
    assert "Vanished outside Steward" in page and "not silenced as decided" in page


# --- A real Celery worker retries while Alertmanager is down --------------------------------


@pytest.fixture
def broker(require_postgres: None, redis_url: str, transactional_db: None) -> Iterator[str]:
    """This process queues to Redis (tasks are eager otherwise); a worker runs them."""
    redis.Redis.from_url(redis_url).flushdb()
    override = {"CELERY_TASK_ALWAYS_EAGER": False, "CELERY_BROKER_URL": redis_url}
    saved = {key: app.conf[key] for key in override}
    app.conf.update(override)
    _forget_connections()
    try:
        yield redis_url
    finally:
        app.conf.update(saved)
        _forget_connections()
        redis.Redis.from_url(redis_url).flushdb()


@pytest.mark.services
def test_celery_task_retries_with_backoff_until_alertmanager_is_back(
    broker: str, tmp_path: Path, team: Team, member: User
) -> None:
    require_service(AlertmanagerServer.available(), "Debian's prometheus-alertmanager")
    rule = AlertRule.objects.create(alertname="QueueBacklog", owner_team=team, severity="page")
    server = AlertmanagerServer(AM_DOWN_PORT, tmp_path / "am")
    server.start()
    server.stop()  # down when the decision is taken
    worker = CeleryWorker(
        broker_url=broker,
        env={
            "DJANGO_SETTINGS_MODULE": "config.settings_test",
            "DATABASE_URL": _database_url(),
            "ALERTMANAGER_URL": server.url,
        },
    )
    worker.start(tmp_path / "worker.log")
    try:
        worker.wait_ready()
        now = timezone.now()
        with override_settings(ALERTMANAGER_URL=server.url):
            decision = decision_record(
                user=member,
                rule=rule,
                week=week_of(now),
                kind="mute",
                mute_until=now + timedelta(days=1),
            )  # committed (transactional_db): the task is queued on commit

        def attempts() -> int:
            decision.refresh_from_db()
            return decision.silence_attempts

        _wait(lambda: attempts() >= 2, 30, f"two attempts by the worker\n{worker.log()[-3000:]}")
        assert decision.silence_state == State.RETRYING and decision.silence_id == ""
        assert "Retry in" in worker.log()  # Celery's autoretry, with its countdown
        server.start()
        _wait(
            lambda: attempts() > 0 and decision.silence_state == State.CREATED,
            40,
            f"the silence after Alertmanager came back\n{worker.log()[-3000:]}",
        )
        (silence,) = _silences(server.url)
        assert silence["id"] == decision.silence_id
    finally:
        worker.stop()
        server.stop()


# --- The silence really holds notifications back -------------------------------------------

FIRING_RULES = {
    "groups": [
        {
            "name": "fraud",
            "interval": "1s",
            "rules": [
                {
                    "alert": "ModelLatencyHigh",
                    "expr": "vector(1)",
                    "labels": {"severity": "page", "team": "fraud-ml", "model": "fraud-scorer"},
                }
            ],
        }
    ]
}


def _firing_notifications(hook: WebhookServer) -> int:
    return sum(
        1
        for r in list(hook.received)
        if r.body and any(a["status"] == "firing" for a in r.body.get("alerts", []))
    )


def _wait(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds} s: {what}")
        time.sleep(0.2)


def _quiet_for(hook: WebhookServer, seconds: float) -> bool:
    """No firing notification arrives for `seconds` (repeat_interval is 2 s)."""
    before = _firing_notifications(hook)
    time.sleep(seconds)
    return _firing_notifications(hook) == before


def _prometheus_firing(url: str) -> bool:
    alerts = requests.get(f"{url}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return any(
        a["labels"]["alertname"] == "ModelLatencyHigh" and a["state"] == "firing" for a in alerts
    )


def test_mute_stops_notifications_while_prometheus_fires_and_undo_and_expiry_resume_them(
    tmp_path: Path,
    rules: dict[str, AlertRule],
    member: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    require_service(
        AlertmanagerServer.available() and AlertingPrometheus.available(),
        "Debian's prometheus and prometheus-alertmanager",
    )
    rule = rules["fraud-scorer"]
    with webhook_server() as hook:
        am = AlertmanagerServer(
            AM_PORT, tmp_path / "am", config=webhook_route_config(hook.url + "/hook")
        )
        prom = AlertingPrometheus(
            PROM_PORT, tmp_path / "prom", rules=FIRING_RULES, alertmanager_port=AM_PORT
        )
        am.start()
        prom.start()
        try:
            with override_settings(ALERTMANAGER_URL=am.url):
                _wait(lambda: _firing_notifications(hook) >= 2, 30, "repeated notifications")

                decision = _mute(member, rule, django_capture_on_commit_callbacks)
                assert decision.silence_state == State.CREATED, decision.silence_error
                # Alertmanager marks the alert suppressed by this silence within its next
                # group interval; from then on, no notification while Prometheus fires.
                time.sleep(2)
                assert _quiet_for(hook, 6), "notifications went on under the silence"
                assert _prometheus_firing(prom.url)
                held = requests.get(f"{am.url}/api/v2/alerts", timeout=5).json()
                assert held and held[0]["status"]["silencedBy"] == [decision.silence_id]

                with django_capture_on_commit_callbacks(execute=True):
                    decision_undo(user=member, decision=decision)
                resumed_from = _firing_notifications(hook)
                _wait(
                    lambda: _firing_notifications(hook) > resumed_from,
                    10,
                    "notifications after undo",
                )

                # A short mute: silent while it lasts, notifications again once it ends.
                short = _mute(member, rule, django_capture_on_commit_callbacks, seconds=8)
                assert short.silence_state == State.CREATED
                time.sleep(2)
                assert _quiet_for(hook, 4), "notifications went on under the short mute"
                after = _firing_notifications(hook)
                _wait(
                    lambda: _firing_notifications(hook) > after,
                    15,
                    "notifications after the mute expired",
                )
                assert carry_out.decision_silences_check() == 1
                short.refresh_from_db()
                assert short.silence_state == State.EXPIRED  # ended on time: not flagged
        finally:
            prom.stop()
            am.stop()
