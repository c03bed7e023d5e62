"""Automatic triggers: a real Alertmanager delivery opens an episode and its action runs."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.test import Client

from alerts.automation import receivers
from alerts.automation.models import Action, ActionRun, AutomationEvent
from alerts.models import AlertRule, Episode
from tests.alerts.automation.conftest import NOWHERE
from tests.alerts.integrations.conftest import capture
from tests.support.webhook import WebhookServer
from tokens.models import ApiToken
from tokens.services import token_create

pytestmark = pytest.mark.django_db(transaction=True)  # triggers run after the commit


@pytest.fixture
def deliver(client: Client) -> Callable[[dict[str, Any]], None]:
    _, raw = token_create(name="am", scope=ApiToken.Scope.INGEST)

    def send(payload: dict[str, Any]) -> None:
        response = client.post(
            "/api/v1/integrations/alertmanager/",
            data=payload,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        assert response.status_code == 200, response.content

    return send


def test_an_opened_episode_runs_its_rules_automatic_action(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    rule: AlertRule,
    deliver: Callable[[dict[str, Any]], None],
) -> None:
    action = make_action(
        f"{receiver.url}/shift",
        trigger=Action.Trigger.AUTOMATIC,
        label_filter={"env": ["prod"]},
    )
    skipped = make_action(
        f"{receiver.url}/never", trigger=Action.Trigger.AUTOMATIC, label_filter={"env": "staging"}
    )
    manual = make_action(f"{receiver.url}/manual-only")

    first = capture()[0]
    deliver(first)

    episode = Episode.objects.get(rule=rule)
    run = ActionRun.objects.get()
    assert (run.action, run.episode, run.trigger) == (action, episode, "automatic")
    assert run.state == ActionRun.State.SUCCEEDED
    [request] = receiver.received
    assert request.path == "/shift"
    assert request.signature_valid is True
    assert request.body["model"] == "fraud-scorer"
    assert not skipped.runs.exists()
    assert not manual.runs.exists()
    assert AutomationEvent.objects.filter(run=run, kind="trigger", actor_name="").exists()

    # The same delivery again (Alertmanager's repeat) opens nothing and runs nothing.
    deliver(first)
    assert ActionRun.objects.count() == 1


def test_no_automatic_action_costs_the_ingest_path_no_query(
    django_assert_num_queries: Any, rule: AlertRule, make_action: Callable[..., Action]
) -> None:
    with django_assert_num_queries(1):  # which rules have automatic actions: once, then cached
        receivers.schedule_automatic_triggers(sender=Episode, weeks=[], opened_by=10**9)
    with django_assert_num_queries(0):
        receivers.schedule_automatic_triggers(sender=Episode, weeks=[], opened_by=10**9)
    # A new automatic action is seen at once (the cache is forgotten on change).
    make_action(NOWHERE, trigger=Action.Trigger.AUTOMATIC)
    assert receivers.automatic_rule_ids() == {rule.pk}


def test_deliveries_ask_the_cache_once_per_process_and_second(
    rule: AlertRule, make_action: Callable[..., Action]
) -> None:
    from alerts.automation import services

    real = services.cache
    calls: list[tuple[str, object]] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            method = getattr(real, name)

            def counted(*args: Any, **kwargs: Any) -> Any:
                calls.append((name, args[0] if args else None))
                return method(*args, **kwargs)

            return counted

    both = [
        services.VERIFICATIONS_PENDING_KEY,
        services.TRIGGERS_PENDING_KEY,
        services.AUTOMATIC_RULES_KEY,
    ]
    with (
        mock.patch.object(services, "cache", Counting()),
        mock.patch.object(receivers, "cache", Counting()),
    ):
        receivers.automatic_rule_ids()  # remembered in the cache from here on
        calls.clear()
        receivers.schedule_automatic_triggers(sender=Episode, weeks=[], opened_by=10**9)
        assert calls == [("get_many", both)]  # one round trip for the three questions
        calls.clear()
        for _ in range(3):
            receivers.schedule_automatic_triggers(sender=Episode, weeks=[], opened_by=10**9)
        assert calls == []  # remembered in this process
        # A change here is seen at once: a new automatic action triggers the next delivery.
        make_action(f"{NOWHERE}/x", trigger=Action.Trigger.AUTOMATIC)
        calls.clear()
        receivers.schedule_automatic_triggers(sender=Episode, weeks=[], opened_by=10**9)
        assert calls[0] == ("get_many", both)
        assert receivers.automatic_rule_ids(services.automation_flags()[both[2]]) == {rule.pk}
    # ...and one made elsewhere within FLAGS_MEMORY_SECONDS.
    with mock.patch.object(services.time, "monotonic", return_value=time.monotonic() + 1.5):
        real.set(services.VERIFICATIONS_PENDING_KEY, 1)
        assert services.automation_flags()[services.VERIFICATIONS_PENDING_KEY] == 1


def test_a_delayed_trigger_runs_only_if_the_alert_still_fires(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Any],
    rule: AlertRule,
) -> None:
    from django.utils import timezone

    from alerts.automation import services

    action = make_action(
        f"{receiver.url}/shift", trigger=Action.Trigger.AUTOMATIC, auto_delay_seconds=120
    )
    resolved = make_episode(rule, labels={"model": "fraud-scorer"})
    Episode.objects.filter(pk=resolved.pk).update(ends_at=timezone.now())
    assert services.automatic_trigger(action_id=action.pk, episode_id=resolved.pk) is None
    assert AutomationEvent.objects.filter(kind="cancelled", episode_id=resolved.pk).exists()

    firing = make_episode(rule, labels={"model": "fraud-scorer"})
    run = services.automatic_trigger(action_id=action.pk, episode_id=firing.pk)
    assert run is not None and run.state == ActionRun.State.SUCCEEDED
    # Its redelivered task does not run it twice.
    assert services.automatic_trigger(action_id=action.pk, episode_id=firing.pk) is None
    assert len(receiver.received) == 1


def test_eager_mode_honours_the_delay_and_runs_the_trigger_once_it_is_due(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    rule: AlertRule,
    deliver: Callable[[dict[str, Any]], None],
    settings: Any,
) -> None:
    """Without a broker an eager task ignores its countdown: the trigger is recorded as
    scheduled and a later delivery runs it once due, only if the alert still fires."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    assert settings.CELERY_TASK_ALWAYS_EAGER
    action = make_action(
        f"{receiver.url}/shift", trigger=Action.Trigger.AUTOMATIC, auto_delay_seconds=120
    )
    deliveries = capture()
    fire, resolve, fire_again = deliveries[0], deliveries[2], deliveries[3]
    start = timezone.now()

    deliver(fire)
    first = Episode.objects.get(rule=rule)
    assert not ActionRun.objects.exists() and receiver.received == []
    [scheduled] = AutomationEvent.objects.filter(kind="trigger", episode_id=first.pk)
    assert scheduled.run_id is None and "Scheduled" in scheduled.message
    deliver(resolve)  # resolved within the delay
    assert not ActionRun.objects.exists()

    with time_machine.travel(start + timedelta(seconds=130), tick=True):
        deliver(fire_again)  # a new episode (scheduled), and the first one is now due
        second = Episode.objects.exclude(pk=first.pk).get(rule=rule)
        assert AutomationEvent.objects.filter(kind="cancelled", episode_id=first.pk).count() == 1
        assert not ActionRun.objects.exists() and receiver.received == []

    with time_machine.travel(start + timedelta(seconds=260), tick=True):
        deliver(fire_again)  # Alertmanager's repeat changes nothing: no check
        assert not ActionRun.objects.exists()
        deliver(deliveries[1])  # another alert of the fleet opens an episode: checked
    run = ActionRun.objects.get()
    assert (run.action, run.episode_id, run.trigger) == (action, second.pk, "automatic")
    assert run.state == ActionRun.State.SUCCEEDED
    [request] = receiver.received
    assert request.signature_valid is True
    assert AutomationEvent.objects.filter(kind="cancelled", episode_id=first.pk).count() == 1
    assert not ActionRun.objects.filter(episode=first).exists()


def test_eager_mode_timer_runs_the_delayed_trigger_without_another_delivery(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    rule: AlertRule,
    deliver: Callable[[dict[str, Any]], None],
) -> None:
    import threading
    import time

    action = make_action(
        f"{receiver.url}/shift", trigger=Action.Trigger.AUTOMATIC, auto_delay_seconds=1
    )
    deliver(capture()[0])
    assert not ActionRun.objects.exists()
    # Wait on the receiver and the timer thread, not the database: SQLite's shared in-memory
    # test database locks a table that one connection reads while another writes.
    deadline = time.monotonic() + 15
    while not receiver.received:
        assert time.monotonic() < deadline, "the timer did not run the trigger"
        time.sleep(0.1)
    for timer in [t for t in threading.enumerate() if isinstance(t, threading.Timer)]:
        timer.join(timeout=15)
    run = ActionRun.objects.get()
    assert (run.action, run.trigger, run.state) == (action, "automatic", "succeeded")
    assert len(receiver.received) == 1 and receiver.received[0].signature_valid


def test_an_automatic_trigger_outside_the_label_filter_is_refused(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Any],
    rule: AlertRule,
) -> None:
    from alerts.automation import services
    from alerts.automation.guardrails import Guardrail

    action = make_action(
        f"{receiver.url}/shift",
        trigger=Action.Trigger.AUTOMATIC,
        label_filter={"env": ["prod"]},
    )
    staging = make_episode(rule, labels={"model": "fraud-scorer", "env": "staging"})
    run = services.run_trigger(action=action, episode=staging, kind="automatic")
    assert run.guardrail == Guardrail.LABEL_FILTER
    assert receiver.received == []


def test_an_automatic_trigger_of_a_resolved_episode_is_refused(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Any],
    rule: AlertRule,
    member: Any,
) -> None:
    """The alert resolved between the delivery and the trigger (a queue backlog): nothing to
    remediate automatically. A person may still run it by hand."""
    from alerts.automation import services
    from alerts.automation.guardrails import Guardrail

    action = make_action(f"{receiver.url}/shift", trigger=Action.Trigger.AUTOMATIC)
    resolved = make_episode(
        rule,
        labels={"model": "fraud-scorer", "env": "prod"},
        annotations={"summary": "p99 latency 2.3 s"},
        duration=timedelta(minutes=3),
    )
    run = services.run_trigger(action=action, episode=resolved, kind="automatic")
    assert (run.state, run.guardrail) == ("refused", Guardrail.EPISODE_RESOLVED)
    assert receiver.received == []
    by_hand = services.run_trigger(action=action, episode=resolved, user=member)
    assert by_hand.state == "succeeded", by_hand.outcome
    assert len(receiver.received) == 1
