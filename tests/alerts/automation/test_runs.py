"""Triggers, guardrails, execution and verification against a real local receiver (eager).

Each guardrail has a test here that fails without it; the concurrent versions run on the
PostgreSQL lane (test_concurrency.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone
from pytest_django.fixtures import Settings

from alerts.automation import services
from alerts.automation.guardrails import AutomationRefused, Guardrail
from alerts.automation.models import Action, ActionRun, AutomationEvent
from alerts.models import AlertRule, Episode
from tests.alerts.automation.conftest import BEARER_TOKEN, NOWHERE, SIGNING_KEY
from tests.support.webhook import WebhookServer

pytestmark = pytest.mark.django_db(transaction=True)  # runs execute after the commit

MakeAction = Callable[..., Action]
MakeEpisode = Callable[..., Episode]


def _episode(make_episode: MakeEpisode, rule: AlertRule, **labels: str) -> Episode:
    return make_episode(
        rule,
        labels={"model": "fraud-scorer", "env": "prod", **labels},
        annotations={"summary": "p99 latency 2.3 s"},
        system=rule.system,
    )


def _kinds(run: ActionRun) -> list[str]:
    return list(
        AutomationEvent.objects.filter(run=run).order_by("at", "id").values_list("kind", flat=True)
    )


def test_a_run_sends_a_signed_request_and_records_every_step(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    action = make_action(f"{receiver.url}/shift?to=fallback")
    episode = _episode(make_episode, rule)

    run = services.run_trigger(action=action, episode=episode, user=member)

    run.refresh_from_db()
    assert run.state == ActionRun.State.SUCCEEDED, run.outcome
    [request] = receiver.received
    assert request.signature_valid is True
    assert request.path == "/shift?to=fallback"
    assert request.headers["Authorization"] == f"Bearer {BEARER_TOKEN}"
    assert request.headers["X-Steward-Idempotency-Key"] == f"{action.pk}-{episode.pk}-1"
    assert request.body == {
        "model": "fraud-scorer",
        "summary": "p99 latency 2.3 s",
        "episode": episode.pk,
        "attempt": 1,
        "to": "fallback",
    }
    assert run.response_status == 200
    assert run.duration_ms is not None
    assert run.tries == 1
    assert _kinds(run) == ["trigger", "queued", "request", "response", "outcome"]
    # The stored request is the one sent, secrets masked.
    assert run.request["body"] == request.body
    assert run.request["headers"]["Authorization"] == "Bearer ********"
    assert run.request["headers"]["X-Steward-Signature"] == "sha256=********"


def test_the_first_triggers_of_a_new_action_are_dry_runs_until_promoted(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    action = make_action(f"{receiver.url}/shift", promoted=False)
    runs = [
        services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
        for _ in range(2)
    ]
    assert [r.state for r in runs] == [ActionRun.State.DRY_RUN] * 2
    assert receiver.received == []
    # The dry run shows the exact request, secrets masked.
    assert runs[0].request["url"] == f"{receiver.url}/shift"
    assert runs[0].request["headers"]["Authorization"] == "Bearer ********"
    assert runs[0].request["body"]["model"] == "fraud-scorer"
    assert "dry_run" in _kinds(runs[0])

    third = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert third.state == ActionRun.State.SUCCEEDED
    assert len(receiver.received) == 1


def test_a_changed_action_goes_back_to_dry_run(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    action = make_action(f"{receiver.url}/shift")
    services.action_update(action=action, user=member, body_template='{"to": "previous"}')
    assert action.version == 2
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.state == ActionRun.State.DRY_RUN
    assert receiver.received == []
    # A description is not what runs: no new version.
    services.action_update(action=action, user=member, description="Shift to the fallback.")
    assert action.version == 2


def test_only_members_of_the_owning_team_or_staff_may_manage_and_run(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    other_team_member: User,
    make_user: Callable[..., User],
) -> None:
    action = make_action(f"{receiver.url}/shift")
    episode = _episode(make_episode, rule)
    run = services.run_trigger(action=action, episode=episode, user=other_team_member)
    assert run.state == ActionRun.State.REFUSED
    assert run.guardrail == Guardrail.PERMISSION
    with pytest.raises(AutomationRefused):
        services.action_update(action=action, user=other_team_member, name="mine")
    with pytest.raises(AutomationRefused):
        services.action_promote(action=action, user=other_team_member)
    with pytest.raises(AutomationRefused):
        services.dry_run_preview(action=action, episode=episode, user=other_team_member)
    assert receiver.received == []
    staff = make_user("root", staff=True)
    assert services.run_trigger(action=action, episode=episode, user=staff).state == "succeeded"


def test_high_risk_needs_a_second_member_of_the_owning_team(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
    second_member: User,
    other_team_member: User,
) -> None:
    action = make_action(f"{receiver.url}/rollback", risk=Action.Risk.HIGH)
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.state == ActionRun.State.PENDING_APPROVAL
    assert receiver.received == []
    with pytest.raises(AutomationRefused, match="cannot approve their own"):
        services.run_approve(run=run, user=member)
    with pytest.raises(AutomationRefused, match="owning team"):
        services.run_approve(run=run, user=other_team_member)
    run = services.run_approve(run=run, user=second_member)
    run.refresh_from_db()
    assert run.state == ActionRun.State.SUCCEEDED
    assert run.approved_by == second_member
    assert len(receiver.received) == 1
    assert "approval_requested" in _kinds(run)
    assert "approved" in _kinds(run)


def test_break_glass_skips_approval_with_a_reason_and_notifies(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    team = rule.owner_team
    assert team is not None
    team.chat_webhook_url = f"{receiver.url}/chat"
    team.save()
    action = make_action(f"{receiver.url}/rollback", risk=Action.Risk.HIGH)
    episode = _episode(make_episode, rule)
    with pytest.raises(ValidationError):
        services.run_trigger(
            action=action, episode=episode, user=member, kind=ActionRun.TriggerKind.BREAK_GLASS
        )
    with caplog.at_level(logging.WARNING, logger="alerts.automation.services"):
        run = services.run_trigger(
            action=action,
            episode=episode,
            user=member,
            kind=ActionRun.TriggerKind.BREAK_GLASS,
            break_glass_reason="checkout is down, nobody else is awake",
        )
    run.refresh_from_db()
    assert run.state == ActionRun.State.SUCCEEDED
    assert "break_glass" in _kinds(run)
    assert "automation break glass" in caplog.text
    paths = sorted(r.path for r in receiver.received)
    assert paths == ["/chat", "/rollback"]
    chat = next(r for r in receiver.received if r.path == "/chat")
    assert "checkout is down" in chat.body["text"]


def test_the_rate_budget_caps_runs_per_hour(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    action = make_action(f"{receiver.url}/scale", max_runs_per_hour=2)
    states = [
        services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
        for _ in range(3)
    ]
    assert [r.state for r in states[:2]] == ["succeeded", "succeeded"]
    assert states[2].state == ActionRun.State.REFUSED
    assert states[2].guardrail == Guardrail.RATE_BUDGET
    assert len(receiver.received) == 2
    # An hour later the budget is back.
    later = timezone.now() + timedelta(hours=1, seconds=1)
    run = services.run_trigger(
        action=action, episode=_episode(make_episode, rule), user=member, now=later
    )
    assert run.guardrail == ""


def test_the_cooldown_is_per_alert_series(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    action = make_action(f"{receiver.url}/scale", cooldown_seconds=600)
    first = _episode(make_episode, rule)
    assert services.run_trigger(action=action, episode=first, user=member).state == "succeeded"
    # The same series again (another episode with the same fingerprint, later).
    again = Episode.objects.create(
        rule=rule,
        fingerprint=first.fingerprint,
        labels=first.labels,
        starts_at=first.starts_at + timedelta(minutes=1),
        source="prometheus",
    )
    run = services.run_trigger(action=action, episode=again, user=member)
    assert run.state == ActionRun.State.REFUSED
    assert run.guardrail == Guardrail.COOLDOWN
    other_series = _episode(make_episode, rule)
    assert services.run_trigger(action=action, episode=other_series, user=member).state == (
        "succeeded"
    )
    assert len(receiver.received) == 2


def test_max_concurrent_per_action_and_per_system(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
    settings: Settings,
) -> None:
    action = make_action(f"{receiver.url}/scale", max_concurrent=1)
    busy = _episode(make_episode, rule)
    ActionRun.objects.create(
        action=action,
        action_version=action.version,
        episode=busy,
        attempt=1,
        trigger="manual",
        state=ActionRun.State.RUNNING,
        queued_at=timezone.now(),
    )
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.guardrail == Guardrail.MAX_CONCURRENT
    # Another action on the same system: the system's limit (1 here) is reached.
    settings.STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM = 1
    other = make_action(f"{receiver.url}/other", max_concurrent=5)
    run = services.run_trigger(action=other, episode=_episode(make_episode, rule), user=member)
    assert run.guardrail == Guardrail.MAX_CONCURRENT_SYSTEM
    assert receiver.received == []


def test_the_circuit_breaker_pauses_automatic_runs_fleet_wide(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
    settings: Settings,
    make_user: Callable[..., User],
) -> None:
    settings.STEWARD_AUTOMATION_MAX_AUTO_RUNS_PER_HOUR = 2
    settings.STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM = 10
    action = make_action(
        f"{receiver.url}/scale", trigger=Action.Trigger.AUTOMATIC, max_runs_per_hour=100
    )
    runs = [
        services.run_trigger(action=action, episode=_episode(make_episode, rule), kind="automatic")
        for _ in range(4)
    ]
    assert [r.guardrail for r in runs] == ["", "", "circuit_breaker", "circuit_breaker"]
    switch = services.switch_get()
    assert switch.breaker_tripped
    assert AutomationEvent.objects.filter(kind="breaker_tripped").count() == 1
    assert len(receiver.received) == 2
    # A person may still act; automatic runs stay paused until staff reset the breaker.
    manual = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert manual.state == ActionRun.State.SUCCEEDED
    # An hour later the hour's count no longer refuses, but the tripped breaker still does.
    later = timezone.now() + timedelta(hours=2)
    paused = services.run_trigger(
        action=action, episode=_episode(make_episode, rule), kind="automatic", now=later
    )
    assert paused.guardrail == Guardrail.CIRCUIT_BREAKER
    assert "tripped" in paused.refusal
    services.breaker_reset(user=make_user("root", staff=True))
    assert not services.switch_get().breaker_tripped
    after_reset = services.run_trigger(
        action=action, episode=_episode(make_episode, rule), kind="automatic", now=later
    )
    assert after_reset.guardrail == ""


def test_the_global_and_the_per_action_kill_switch(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
    make_user: Callable[..., User],
) -> None:
    action = make_action(f"{receiver.url}/scale")
    root = make_user("root", staff=True)
    with pytest.raises(AutomationRefused):
        services.automation_switch_set(user=member, enabled=False)
    services.automation_switch_set(user=root, enabled=False, reason="incident 42")
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.guardrail == Guardrail.KILL_SWITCH
    assert "incident 42" in run.refusal
    services.automation_switch_set(user=root, enabled=True)
    services.action_disable(action=action, user=member, reason="flaky receiver")
    action.refresh_from_db()
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.guardrail == Guardrail.ACTION_DISABLED
    assert receiver.received == []
    services.action_enable(action=action, user=member)
    assert services.run_trigger(
        action=action, episode=_episode(make_episode, rule), user=member
    ).state == ("succeeded")


def test_a_kill_switch_also_stops_a_queued_run(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
    make_user: Callable[..., User],
) -> None:
    action = make_action(f"{receiver.url}/scale")
    run = ActionRun.objects.create(
        action=action,
        action_version=1,
        episode=_episode(make_episode, rule),
        attempt=1,
        trigger="manual",
        state=ActionRun.State.QUEUED,
        queued_at=timezone.now(),
    )
    services.automation_switch_set(user=make_user("root", staff=True), enabled=False)
    services.run_execute(run.pk)
    run.refresh_from_db()
    assert run.state == ActionRun.State.REFUSED
    assert run.guardrail == Guardrail.KILL_SWITCH
    assert receiver.received == []


def test_consecutive_failures_disable_the_action(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    receiver.behaviour.status = 400
    action = make_action(f"{receiver.url}/scale")
    for _ in range(3):
        run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
        assert run.state == ActionRun.State.FAILED
    action.refresh_from_db()
    assert action.disabled
    assert "3 failed or non-resolving runs" in action.disabled_reason
    assert len(receiver.received) == 3  # 4xx: never retried
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.guardrail == Guardrail.ACTION_DISABLED


def test_a_success_resets_the_failure_count(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    receiver.behaviour.statuses = [400, 400, 200, 400, 400]
    action = make_action(f"{receiver.url}/scale")
    for _ in range(5):
        services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    action.refresh_from_db()
    assert not action.disabled
    assert action.consecutive_failures == 2


def test_network_errors_and_5xx_are_retried_but_not_4xx(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    receiver.behaviour.statuses = [503, 502]
    action = make_action(f"{receiver.url}/scale")
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    run.refresh_from_db()
    assert run.state == ActionRun.State.SUCCEEDED
    assert run.tries == 3
    assert len(receiver.received) == 3
    # The three tries are one attempt: the receiver sees one idempotency key.
    assert len({r.headers["X-Steward-Idempotency-Key"] for r in receiver.received}) == 1
    assert _kinds(run).count("retry") == 2

    receiver.behaviour.statuses = [503, 503, 503]
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    run.refresh_from_db()
    assert run.state == ActionRun.State.FAILED
    assert run.tries == 3

    receiver.behaviour.statuses = [404]
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    run.refresh_from_db()
    assert run.state == ActionRun.State.FAILED
    assert run.tries == 1
    assert "expected 200" in run.outcome


def test_a_network_error_is_retried_then_fails(
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    # Nothing listens there.
    action = make_action(NOWHERE)
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    run.refresh_from_db()
    assert run.state == ActionRun.State.FAILED
    assert run.tries == 3
    assert "Network error" in run.outcome


def test_a_finished_run_is_not_run_again(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    action = make_action(f"{receiver.url}/scale")
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    from alerts.automation.tasks import execute_run

    execute_run.delay(run.pk)  # a redelivered message
    assert len(receiver.received) == 1


def test_verification_records_whether_the_alert_resolved(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    action = make_action(f"{receiver.url}/scale", verify_resolution_seconds=120)
    resolving = _episode(make_episode, rule)
    run = services.run_trigger(action=action, episode=resolving, user=member)
    run.refresh_from_db()
    assert run.verification == ActionRun.Verification.PENDING
    assert services.run_verify(run.pk) is False  # still firing, deadline ahead
    Episode.objects.filter(pk=resolving.pk).update(ends_at=timezone.now())
    assert services.verifications_settle() == 0
    run.refresh_from_db()
    assert run.verification == ActionRun.Verification.RESOLVED

    stuck = _episode(make_episode, rule)
    run = services.run_trigger(action=action, episode=stuck, user=member)
    services.run_verify(run.pk, now=timezone.now() + timedelta(seconds=121))
    run.refresh_from_db()
    assert run.verification == ActionRun.Verification.NOT_RESOLVED
    action.refresh_from_db()
    assert action.consecutive_failures == 1  # a run that did not resolve counts as a failure
    assert "verification" in _kinds(run)


def test_non_resolving_runs_disable_the_action(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    action = make_action(f"{receiver.url}/scale", verify_resolution_seconds=60)
    later = timezone.now() + timedelta(seconds=61)
    for _ in range(3):
        run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
        services.run_verify(run.pk, now=later)
    action.refresh_from_db()
    assert action.disabled


def test_the_dry_run_preview_is_the_exact_request_with_secrets_masked(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: MakeEpisode,
    rule: AlertRule,
    member: User,
) -> None:
    action = make_action(f"{receiver.url}/shift", headers={"X-Api-Key": "TESTSECRETheader"})
    preview = services.dry_run_preview(
        action=action, episode=_episode(make_episode, rule), user=member
    )
    text = json.dumps(preview)
    assert SIGNING_KEY not in text
    assert BEARER_TOKEN not in text
    assert "TESTSECRETheader" not in text
    assert preview["method"] == "POST"
    assert preview["headers"]["X-Api-Key"] == "********"
    assert preview["body"]["to"] == "fallback"
    assert receiver.received == []
    assert not ActionRun.objects.exists()


def test_action_validation(make_action: MakeAction, receiver: WebhookServer) -> None:
    with pytest.raises(ValidationError, match="STEWARD_AUTOMATION_ALLOWED_HOSTS"):
        make_action("https://unlisted.example.com/hook")
    with pytest.raises(ValidationError, match="does not compile"):
        make_action(f"{receiver.url}/x", body_template='{"a": {{ x }')
    with pytest.raises(ValidationError, match="link-local"):
        make_action("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(ValidationError, match="private-network"):
        make_action("http://10.1.2.3/hook")
