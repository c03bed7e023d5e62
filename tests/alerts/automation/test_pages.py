"""The automation pages: the on-call page's manual trigger (dry run with secrets masked, run,
approval by a second member, break glass), the action page, the list with the kill switch,
and their team scoping. Against a real local receiver that verifies the signature."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from alerts.automation import services
from alerts.automation.models import Action, ActionRun, AutomationEvent
from alerts.models import AlertRule, Episode
from tests.alerts.automation.conftest import BEARER_TOKEN, SIGNING_KEY
from tests.support.webhook import WebhookServer, webhook_server

pytestmark = pytest.mark.django_db(transaction=True)  # runs execute after the commit


@pytest.fixture
def receiver() -> Iterator[WebhookServer]:
    with webhook_server() as server:
        server.behaviour.signing_key = SIGNING_KEY
        yield server


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


ONCALL = "/runbooks/for/ModelLatencyHigh/"


def test_oncall_page_dry_run_masks_secrets_then_run_sends_a_signed_request(
    member: User,
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
    receiver: WebhookServer,
) -> None:
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    action = make_action(receiver.url + "/fallback", name="Shift traffic to the fallback model")
    client = _client(member)
    page = client.get(ONCALL).content.decode()
    assert "Shift traffic to the fallback model" in page
    assert reverse("automation:dry_run", args=[action.pk]) in page

    dry = client.post(
        reverse("automation:dry_run", args=[action.pk]),
        {"episode": episode.pk, "next": ONCALL},
    ).content.decode()
    assert f"POST {receiver.url}/fallback" in dry
    assert "Authorization: Bearer ********" in dry
    assert "X-Steward-Signature: sha256=********" in dry
    assert SIGNING_KEY not in dry and BEARER_TOKEN not in dry
    assert "fraud-scorer" in dry  # the rendered body
    assert receiver.received == []  # a dry run sends nothing
    assert not ActionRun.objects.exists()

    response = client.post(
        reverse("automation:run", args=[action.pk]), {"episode": episode.pk, "next": ONCALL}
    )
    assert response.status_code == 302 and response["Location"] == ONCALL
    assert len(receiver.received) == 1 and receiver.received[0].signature_valid
    run = ActionRun.objects.get()
    assert run.state == ActionRun.State.SUCCEEDED and run.requested_by == member
    page = client.get(ONCALL).content.decode()
    assert "audit-request" in page and "audit-response" in page  # the audit rows
    assert "Succeeded" in page


def test_outsiders_see_no_button_and_cannot_dry_run_or_run(
    member: User,
    other_team_member: User,
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
    receiver: WebhookServer,
) -> None:
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    action = make_action(receiver.url + "/fallback")
    client = _client(other_team_member)
    page = client.get(ONCALL).content.decode()
    assert reverse("automation:dry_run", args=[action.pk]) not in page
    assert "Only members of" in page
    for name in ("dry_run", "run", "manage"):
        url = reverse(f"automation:{name}", args=[action.pk])
        assert client.post(url, {"episode": episode.pk, "op": "promote"}).status_code == 404
    assert client.get(reverse("automation:action", args=[action.pk])).status_code == 404
    assert action.name not in client.get(reverse("automation:list")).content.decode()
    assert receiver.received == [] and not ActionRun.objects.exists()


def test_an_episode_of_another_runbook_is_refused(
    member: User,
    team: object,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
    receiver: WebhookServer,
) -> None:
    action = make_action(receiver.url + "/fallback")
    stranger = AlertRule.objects.create(alertname="Other", owner_team=action.team)
    episode = make_episode(stranger)
    client = _client(member)
    url = reverse("automation:run", args=[action.pk])
    assert client.post(url, {"episode": episode.pk}).status_code == 404
    assert client.post(url, {"episode": "x"}).status_code == 404


def test_high_risk_requests_approval_a_second_member_approves_on_the_action_page(
    member: User,
    second_member: User,
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
    receiver: WebhookServer,
) -> None:
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    action = make_action(receiver.url + "/rollback", risk=Action.Risk.HIGH)
    client = _client(member)
    dry = client.post(
        reverse("automation:dry_run", args=[action.pk]), {"episode": episode.pk}
    ).content.decode()
    assert "Request approval" in dry and "Break glass" in dry
    client.post(reverse("automation:run", args=[action.pk]), {"episode": episode.pk})
    run = ActionRun.objects.get()
    assert run.state == ActionRun.State.PENDING_APPROVAL and receiver.received == []
    # The requester cannot approve their own run: no button for them, and a refusal.
    detail = reverse("automation:action", args=[action.pk])
    assert reverse("automation:decide", args=[run.pk]) not in client.get(detail).content.decode()
    client.post(reverse("automation:decide", args=[run.pk]), {"decision": "approve"})
    run.refresh_from_db()
    assert run.state == ActionRun.State.PENDING_APPROVAL
    second = _client(second_member)
    assert reverse("automation:decide", args=[run.pk]) in second.get(detail).content.decode()
    second.post(reverse("automation:decide", args=[run.pk]), {"decision": "approve"})
    run.refresh_from_db()
    assert run.state == ActionRun.State.SUCCEEDED and run.approved_by == second_member
    assert len(receiver.received) == 1 and receiver.received[0].signature_valid


def test_break_glass_needs_a_reason_and_runs_without_approval(
    member: User,
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
    receiver: WebhookServer,
) -> None:
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    action = make_action(receiver.url + "/rollback", risk=Action.Risk.HIGH)
    client = _client(member)
    url = reverse("automation:run", args=[action.pk])
    client.post(url, {"episode": episode.pk, "break_glass": "1", "break_glass_reason": " "})
    assert not ActionRun.objects.exists()
    client.post(url, {"episode": episode.pk, "break_glass": "1", "break_glass_reason": "fire"})
    run = ActionRun.objects.get()
    assert run.state == ActionRun.State.SUCCEEDED and run.break_glass_reason == "fire"
    assert AutomationEvent.objects.filter(run=run, kind=AutomationEvent.Kind.BREAK_GLASS).exists()


def test_action_page_shows_guardrails_promote_and_kill_switch_without_secrets(
    member: User,
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
    receiver: WebhookServer,
) -> None:
    action = make_action(receiver.url + "/fallback", promoted=False, max_runs_per_hour=4)
    client = _client(member)
    url = reverse("automation:action", args=[action.pk])
    page = client.get(url).content.decode()
    assert "0 of 4 runs in the last hour" in page
    assert "2 triggers left" in page and "Promote out of dry run" in page
    assert SIGNING_KEY not in page and BEARER_TOKEN not in page
    client.post(reverse("automation:manage", args=[action.pk]), {"op": "promote"})
    action.refresh_from_db()
    assert action.dry_run_remaining == 0
    manage = reverse("automation:manage", args=[action.pk])
    client.post(manage, {"op": "disable", "reason": ""})
    action.refresh_from_db()
    assert not action.disabled
    client.post(manage, {"op": "disable", "reason": "model team migrating"})
    page = client.get(url).content.decode()
    assert "model team migrating" in page and "Action disabled" in page


def test_global_kill_switch_is_staff_only_and_shown_on_the_oncall_page(
    member: User,
    make_user: Callable[..., User],
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
    receiver: WebhookServer,
) -> None:
    make_episode(rule, labels={"model": "fraud-scorer"})
    make_action(receiver.url + "/fallback")
    switch = reverse("automation:switch")
    assert _client(member).post(switch, {"op": "off", "reason": "x"}).status_code == 403
    staff = _client(make_user("boss", staff=True))
    assert "Switch automation off" in staff.get(reverse("automation:list")).content.decode()
    staff.post(switch, {"op": "off", "reason": "incident 42"})
    page = _client(member).get(ONCALL).content.decode()
    assert "Automation paused:" in page and "incident 42" in page


def test_oncall_automation_section_asks_a_fixed_number_of_queries(
    member: User,
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
    receiver: WebhookServer,
    django_assert_max_num_queries: Any,
) -> None:
    from alerts.automation.pages import oncall_automation

    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    for i in range(5):
        action = make_action(receiver.url + "/f", name=f"a{i}")
        services.run_trigger(action=action, episode=episode, user=member)
    with django_assert_max_num_queries(8):
        section = oncall_automation(rule=rule, focus=episode, user=member)
        assert section is not None and len(section.actions) == 5


def test_api_lists_are_team_scoped_and_never_show_the_secret(
    member: User,
    other_team_member: User,
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
    receiver: WebhookServer,
) -> None:
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    action = make_action(receiver.url + "/fallback")
    services.run_trigger(action=action, episode=episode, user=member)
    mine = _client(member)
    actions = mine.get("/api/v1/automation/actions/").json()
    body = str(actions)
    assert action.name in body and SIGNING_KEY not in body and "ciphertext" not in body
    runs = mine.get(f"/api/v1/automation/runs/?action={action.pk}").json()
    assert SIGNING_KEY not in str(runs) and BEARER_TOKEN not in str(runs)
    assert "succeeded" in str(runs)
    theirs = _client(other_team_member)
    assert action.name not in str(theirs.get("/api/v1/automation/actions/").json())
    assert "succeeded" not in str(theirs.get("/api/v1/automation/runs/").json())
    assert theirs.get(f"/api/v1/automation/actions/{action.pk}/").status_code == 404
    assert mine.get("/api/v1/automation/runs/?action=x").status_code == 200


def test_weekly_review_shows_each_actions_runs_and_rates(
    member: User,
    other_team_member: User,
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
    receiver: WebhookServer,
) -> None:
    from core.weeks import current_week

    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    action = make_action(receiver.url + "/fallback", name="Shift traffic to the fallback model")
    services.run_trigger(action=action, episode=episode, user=member)
    week = current_week(episode.starts_at)
    page = _client(member).get(f"/review/{week}/").content.decode()
    assert 'id="automation"' in page and "Shift traffic to the fallback model" in page
    assert "100 %" in page  # one run, succeeded
    other = _client(other_team_member).get(f"/review/{week}/").content.decode()
    assert "Shift traffic to the fallback model" not in other
