"""The login lockout page: styled, says how long and until when, and how an admin lifts it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import AnonymousUser, User
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings

from config.lockout import lockout_ends_at, lockout_page

ADDRESS = "192.0.2.44"
RIGHT = "the-right-password"


@pytest.fixture(autouse=True)
def lockout_on(db: None) -> Iterator[None]:
    with override_settings(
        AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, AXES_COOLOFF_TIME=timedelta(minutes=30)
    ):
        yield


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob", password=RIGHT)


def log_in(client: Client, password: str, path: str = "/accounts/login/") -> Any:
    return client.post(path, {"username": "bob", "password": password}, REMOTE_ADDR=ADDRESS)


def lock_out(client: Client) -> Any:
    for _ in range(2):
        assert log_in(client, "wrong").status_code == 200  # the form again, with its error
    return log_in(client, "wrong")


def move_last_failure_back(minutes: int) -> None:
    """What the clock passing looks like to axes: its failure record gets older."""
    attempt = AccessAttempt.objects.get(username="bob", ip_address=ADDRESS)
    attempt.attempt_time -= timedelta(minutes=minutes)
    attempt.save(update_fields=["attempt_time"])


def record_failure(user_agent: str, at: datetime) -> None:
    attempt = AccessAttempt.objects.create(
        username="bob", ip_address=ADDRESS, user_agent=user_agent, failures_since_start=3
    )
    # attempt_time is auto_now_add: set it afterwards.
    AccessAttempt.objects.filter(pk=attempt.pk).update(attempt_time=at)


def test_the_failure_that_reaches_the_limit_shows_the_styled_lockout_page(bob: User) -> None:
    response = lock_out(Client())
    assert response.status_code == 429
    body = response.content.decode()
    assert '<link rel="stylesheet" href="/static/steward.css">' in body
    assert "Too many failed logins" in body
    assert "After 3 failed attempts for <strong>bob</strong> from this address" in body
    assert "locked for 30 minutes" in body
    ends_at = AccessAttempt.objects.get(username="bob").attempt_time + timedelta(minutes=30)
    assert f'<time datetime="{ends_at.isoformat()}">{ends_at:%H:%M} UTC</time>' in body
    assert "in 30\xa0minutes" in body
    assert response["Retry-After"] == "1800"
    assert "the right password too" in body
    assert "manage.py axes_reset_username bob" in body
    assert '<a href="/admin/axes/accessattempt/">Access attempts</a>' in body
    assert '<a href="/accounts/login/">Back to the login page</a>' in body


def test_the_right_password_is_refused_while_locked_and_retrying_does_not_prolong(
    bob: User,
) -> None:
    client = Client()
    lock_out(client)
    move_last_failure_back(minutes=10)
    recorded = AccessAttempt.objects.get(username="bob").attempt_time

    response = log_in(client, RIGHT)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert AccessAttempt.objects.get(username="bob").attempt_time == recorded
    assert "locked for 30 minutes" in response.content.decode()


def test_a_retry_ten_minutes_later_is_told_twenty_minutes_remain(bob: User) -> None:
    # The page itself, with "now" pinned: axes stamps each request with its attempt time.
    last_failure = datetime(2026, 3, 29, 0, 55, tzinfo=UTC)
    record_failure("firefox", last_failure)
    request = RequestFactory().post("/accounts/login/", {"username": "bob"})
    request.axes_attempt_time = last_failure + timedelta(minutes=10)
    request.axes_ip_address = ADDRESS
    request.user = AnonymousUser()

    response = lockout_page(request, None, {"username": "bob"})

    assert response.status_code == 429
    assert response["Retry-After"] == str(20 * 60)
    body = response.content.decode()
    assert '<time datetime="2026-03-29T01:25:00+00:00">01:25 UTC</time>, in 20\xa0minutes' in body


def test_lockout_ends_the_cool_off_after_the_last_failure_of_that_username_and_address() -> None:
    first, last = datetime(2026, 1, 1, 9, 0, tzinfo=UTC), datetime(2026, 1, 1, 9, 7, tzinfo=UTC)
    record_failure("curl", first)
    record_failure("firefox", last)
    cool_off = timedelta(minutes=15)
    ends = lockout_ends_at(username="bob", ip_address=ADDRESS, cool_off=cool_off, now=first)
    assert ends == last + cool_off
    elsewhere = lockout_ends_at(
        username="bob", ip_address="198.51.100.9", cool_off=cool_off, now=first
    )
    assert elsewhere == first + cool_off


def test_the_right_password_works_once_the_cool_off_has_passed(bob: User) -> None:
    client = Client()
    lock_out(client)
    move_last_failure_back(minutes=31)
    assert log_in(client, RIGHT).status_code == 302


def test_the_admin_command_the_page_names_lifts_the_lockout(bob: User) -> None:
    client = Client()
    lock_out(client)
    call_command("axes_reset_username", "bob")
    assert log_in(client, RIGHT).status_code == 302


def test_the_admin_page_the_lockout_links_to_lists_the_attempt(bob: User) -> None:
    lock_out(Client())
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    response = admin.get("/admin/axes/accessattempt/")
    assert response.status_code == 200
    assert ADDRESS in response.content.decode()


def test_the_admin_login_gets_the_same_page(bob: User) -> None:
    client = Client()
    for _ in range(3):
        response = log_in(client, "wrong", path="/admin/login/")
    assert response.status_code == 429
    assert "locked for 30 minutes" in response.content.decode()
