"""Carrying out decisions without an Alertmanager: what the pages say, undo and its rights.
(Against a real Alertmanager: tests/e2e/test_decision_silences.py.)"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from alerts.models import AlertRule, Decision
from alerts.review.services import decision_record
from fleet.models import Team

State = Decision.SilenceState


@pytest.fixture
def muted(
    make_rule: Callable[..., AlertRule],
    team: Team,
    member: User,
    week: str,
    settings: object,
    django_capture_on_commit_callbacks: Callable[..., object],
) -> Decision:
    rule = make_rule("TokenLatencyHigh", owner_team=team, severity="page")
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        decision = decision_record(
            user=member,
            rule=rule,
            week=week,
            kind="mute",
            note="vendor outage",
            mute_until=timezone.now() + timedelta(days=3),
        )
    decision.refresh_from_db()
    return decision


def test_without_alertmanager_the_mute_is_recorded_and_shown_pending(
    muted: Decision, client: Client, member: User, week: str
) -> None:
    assert muted.silence_state == State.PENDING and muted.silence_attempts == 0
    assert "ALERTMANAGER_URL is not set" in muted.silence_error
    assert muted.done_at is None  # not carried out yet: an open action
    client.force_login(member)
    page = client.get(f"/review/decisions/{muted.pk}/").content.decode()
    assert "silence pending" in page and "ALERTMANAGER_URL is not set" in page
    effect = client.get("/review/effect/").content.decode()
    assert 'id="carried-out"' in effect and f"/review/decisions/{muted.pk}/" in effect


def test_undo_reverts_the_mute_and_only_the_team_may_undo(
    muted: Decision, client: Client, member: User, make_user: Callable[..., User]
) -> None:
    outsider = make_user("outsider")
    client.force_login(outsider)
    assert client.post(f"/review/decisions/{muted.pk}/undo/").status_code == 403
    assert "Undo this decision" not in client.get(f"/review/decisions/{muted.pk}/").content.decode()
    client.force_login(member)
    response = client.post(f"/review/decisions/{muted.pk}/undo/")
    assert response.status_code == 302
    muted.refresh_from_db()
    assert muted.undone_by == member and muted.done_at is not None
    rule = muted.rule
    rule.refresh_from_db()
    assert (rule.status, rule.muted_until) == ("active", None)
    again = client.post(f"/review/decisions/{muted.pk}/undo/", follow=True).content.decode()
    assert "already undone" in again
