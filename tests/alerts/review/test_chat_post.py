"""The agenda post to team chats, against a real local HTTP server (no mocked requests)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings
from pytest_django.fixtures import Settings

from alerts.models import AlertRule, Evaluation
from alerts.review.chat import agenda_post_all
from alerts.signals import evaluation_finished
from core.weeks import week_shift
from fleet.models import Team
from tests.alerts.review.conftest import flag
from tests.support.processes import free_port
from tests.support.webhook import WebhookServer, webhook_server

SECRET_PATH = "/services/T0TESTSECRET/B0TESTSECRET/xoxTESTSECRETpart"


@pytest.fixture
def webhook() -> Iterator[WebhookServer]:
    with webhook_server() as server:
        yield server


@pytest.fixture
def hooked_team(
    team: Team,
    webhook: WebhookServer,
    make_rule: Callable[..., AlertRule],
    week: str,
    settings: Settings,
) -> Team:
    # The test server listens on loopback, which the outbound policy refuses unless allowed.
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    team.chat_webhook_url = f"{webhook.url}/hook"
    team.save()
    flag(make_rule("NightPager", owner_team=team, severity="page"), week, "sleep_thief")
    return team


def _finish(week: str, capture: Any, trigger: str = Evaluation.WEEKLY_TRIGGER) -> None:
    evaluation = Evaluation.objects.create(
        week=week, status=Evaluation.Status.DONE, trigger=trigger
    )
    with capture(execute=True):
        evaluation_finished.send(sender=None, evaluation=evaluation, duration_seconds=1.0)


@override_settings(STEWARD_REVIEW_CHAT_POST=True)
def test_finished_evaluation_of_last_week_posts_the_agenda(
    hooked_team: Team,
    webhook: WebhookServer,
    week: str,
    django_capture_on_commit_callbacks: Any,
    other_team: Team,
) -> None:
    _finish(week, django_capture_on_commit_callbacks)
    assert len(webhook.received) == 1  # other_team has no webhook
    text = webhook.received[0].body["text"]
    assert f"Alert review {week} for Fraud ML: 1 rule flagged." in text
    assert "1. NightPager (page): Sleep thief" in text
    assert f"/review/{week}/?team=fraud-ml" in text


@override_settings(STEWARD_REVIEW_CHAT_POST=False)
def test_nothing_is_posted_unless_enabled(
    hooked_team: Team, webhook: WebhookServer, week: str, django_capture_on_commit_callbacks: Any
) -> None:
    _finish(week, django_capture_on_commit_callbacks)
    assert webhook.received == []


@override_settings(STEWARD_REVIEW_CHAT_POST=True)
def test_re_evaluating_an_older_week_does_not_post(
    hooked_team: Team, webhook: WebhookServer, week: str, django_capture_on_commit_callbacks: Any
) -> None:
    _finish(week_shift(week, -3), django_capture_on_commit_callbacks)
    assert webhook.received == []


@override_settings(STEWARD_REVIEW_CHAT_POST=True)
@pytest.mark.parametrize("trigger", ["", "hourly@2027-02-15T08:00Z"])
def test_re_evaluating_last_week_after_monday_does_not_post_again(
    hooked_team: Team,
    webhook: WebhookServer,
    week: str,
    django_capture_on_commit_callbacks: Any,
    trigger: str,
) -> None:
    """A late delivery or a rule change re-evaluates last week: the agenda was posted already."""
    _finish(week, django_capture_on_commit_callbacks)
    _finish(week, django_capture_on_commit_callbacks, trigger=trigger)
    assert len(webhook.received) == 1


def test_a_failing_webhook_is_logged_not_raised(
    hooked_team: Team, webhook: WebhookServer, week: str, caplog: pytest.LogCaptureFixture
) -> None:
    webhook.behaviour.status = 500
    with caplog.at_level(logging.WARNING, logger="alerts.review.chat"):
        assert agenda_post_all(week=week) == {"fraud-ml": False}
    assert "review agenda post to team fraud-ml failed" in caplog.text


def test_an_unreachable_webhook_is_logged_not_raised(
    team: Team, week: str, caplog: pytest.LogCaptureFixture, settings: Settings
) -> None:
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    team.chat_webhook_url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    team.save()
    with caplog.at_level(logging.WARNING, logger="alerts.review.chat"):
        assert agenda_post_all(week=week) == {"fraud-ml": False}
    assert "failed" in caplog.text


def test_task_is_registered_under_its_explicit_name() -> None:
    from config.celery import app

    assert "alerts.review.post_agenda_to_chat" in app.tasks


def test_a_loopback_webhook_is_refused_by_default(
    team: Team, webhook: WebhookServer, week: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Saved before the save-time check existed (or by a migration): the send-time check holds.
    Team.objects.filter(pk=team.pk).update(chat_webhook_url=f"{webhook.url}/hook")
    with caplog.at_level(logging.WARNING, logger="alerts.review.chat"):
        assert agenda_post_all(week=week) == {"fraud-ml": False}
    assert webhook.received == []
    assert "loopback" in caplog.text


def test_a_redirect_is_not_followed(
    hooked_team: Team, webhook: WebhookServer, week: str, caplog: pytest.LogCaptureFixture
) -> None:
    with webhook_server() as inside:
        webhook.behaviour.status = 307
        webhook.behaviour.location = f"{inside.url}/internal-admin"
        with caplog.at_level(logging.WARNING, logger="alerts.review.chat"):
            assert agenda_post_all(week=week) == {"fraud-ml": False}
        assert inside.received == []
    assert len(webhook.received) == 1
    assert "HTTP 307" in caplog.text


def test_a_failing_post_does_not_log_the_webhook_url(
    hooked_team: Team, webhook: WebhookServer, week: str, console_log: io.StringIO
) -> None:
    hooked_team.chat_webhook_url = f"{webhook.url}{SECRET_PATH}"
    hooked_team.save()
    webhook.behaviour.status = 404
    assert agenda_post_all(week=week) == {"fraud-ml": False}
    # And when nobody listens (the error text of a failed connection).
    hooked_team.chat_webhook_url = f"http://127.0.0.1:{free_port()}{SECRET_PATH}"
    hooked_team.save()
    assert agenda_post_all(week=week) == {"fraud-ml": False}
    written = console_log.getvalue()
    assert "review agenda post to team fraud-ml failed" in written
    assert "TESTSECRET" not in written
