"""The agenda post to team chats, against a real local HTTP server (no mocked requests)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import override_settings

from alerts.models import AlertRule, Evaluation
from alerts.review.chat import agenda_post_all
from alerts.signals import evaluation_finished
from core.weeks import week_shift
from fleet.models import Team
from tests.alerts.review.conftest import flag

PORTS = range(18610, 18630)


class _Webhook(ThreadingHTTPServer):
    received: list[dict[str, Any]]
    status: int


class _Handler(BaseHTTPRequestHandler):
    server: _Webhook

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers["Content-Length"])
        self.server.received.append(json.loads(self.rfile.read(length)))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture
def webhook() -> Iterator[_Webhook]:
    for port in PORTS:
        try:
            server = _Webhook(("127.0.0.1", port), _Handler)
            break
        except OSError:
            continue
    else:
        pytest.fail("no free port in 18610-18629")
    server.received, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def hooked_team(
    team: Team, webhook: _Webhook, make_rule: Callable[..., AlertRule], week: str
) -> Team:
    team.chat_webhook_url = f"http://127.0.0.1:{webhook.server_address[1]}/hook"
    team.save()
    flag(make_rule("NightPager", owner_team=team, severity="page"), week, "sleep_thief")
    return team


def _finish(week: str, capture: Any) -> None:
    evaluation = Evaluation.objects.create(week=week, status=Evaluation.Status.DONE)
    with capture(execute=True):
        evaluation_finished.send(sender=None, evaluation=evaluation, duration_seconds=1.0)


@override_settings(STEWARD_REVIEW_CHAT_POST=True)
def test_finished_evaluation_of_last_week_posts_the_agenda(
    hooked_team: Team,
    webhook: _Webhook,
    week: str,
    django_capture_on_commit_callbacks: Any,
    other_team: Team,
) -> None:
    _finish(week, django_capture_on_commit_callbacks)
    assert len(webhook.received) == 1  # other_team has no webhook
    text = webhook.received[0]["text"]
    assert f"Alert review {week} for Fraud ML: 1 rule flagged." in text
    assert "1. NightPager (page): Sleep thief" in text
    assert f"/review/{week}/?team=fraud-ml" in text


@override_settings(STEWARD_REVIEW_CHAT_POST=False)
def test_nothing_is_posted_unless_enabled(
    hooked_team: Team, webhook: _Webhook, week: str, django_capture_on_commit_callbacks: Any
) -> None:
    _finish(week, django_capture_on_commit_callbacks)
    assert webhook.received == []


@override_settings(STEWARD_REVIEW_CHAT_POST=True)
def test_re_evaluating_an_older_week_does_not_post(
    hooked_team: Team, webhook: _Webhook, week: str, django_capture_on_commit_callbacks: Any
) -> None:
    _finish(week_shift(week, -3), django_capture_on_commit_callbacks)
    assert webhook.received == []


def test_a_failing_webhook_is_logged_not_raised(
    hooked_team: Team, webhook: _Webhook, week: str, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.status = 500
    with caplog.at_level(logging.WARNING, logger="alerts.review.chat"):
        assert agenda_post_all(week=week) == {"fraud-ml": False}
    assert "review agenda post to team fraud-ml failed" in caplog.text


def test_an_unreachable_webhook_is_logged_not_raised(
    team: Team, week: str, caplog: pytest.LogCaptureFixture
) -> None:
    team.chat_webhook_url = "http://127.0.0.1:18699/nobody-listens"
    team.save()
    with caplog.at_level(logging.WARNING, logger="alerts.review.chat"):
        assert agenda_post_all(week=week) == {"fraud-ml": False}
    assert "failed" in caplog.text


def test_task_is_registered_under_its_explicit_name() -> None:
    from config.celery import app

    assert "alerts.review.post_agenda_to_chat" in app.tasks
