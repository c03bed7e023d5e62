"""Fifty simultaneous triggers, each in its own thread and database connection (PostgreSQL),
never exceed a budget: the guardrails count under row locks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from pytest_django.fixtures import Settings

from alerts.automation import services
from alerts.automation.guardrails import Guardrail
from alerts.automation.models import Action, ActionRun, AutomationEvent
from alerts.models import AlertRule, Episode
from tests.support.webhook import WebhookServer

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.timeout(120),
]

TRIGGERS = 50


@pytest.fixture(autouse=True)
def _postgres(require_postgres: None) -> None:
    return None


def _storm(trigger: Callable[[int], ActionRun]) -> list[ActionRun]:
    """Call `trigger(i)` for i in 0..49 from 50 threads released at once."""
    barrier = threading.Barrier(TRIGGERS)
    runs: list[ActionRun | None] = [None] * TRIGGERS
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            runs[i] = trigger(i)
        except BaseException as error:  # noqa: BLE001 (reported below)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(TRIGGERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not errors, errors
    return [run for run in runs if run is not None]


def _episodes(make_episode: Callable[..., Episode], rule: AlertRule, n: int) -> list[Episode]:
    return [
        make_episode(rule, labels={"model": "fraud-scorer"}, system=rule.system) for _ in range(n)
    ]


def _executed(action: Action) -> int:
    return ActionRun.objects.filter(action=action, state__in=ActionRun.EXECUTED).count()


def test_the_rate_budget_holds(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: User,
    settings: Settings,
) -> None:
    settings.STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM = TRIGGERS
    action = make_action(f"{receiver.url}/x", max_runs_per_hour=7, max_concurrent=TRIGGERS)
    episodes = _episodes(make_episode, rule, TRIGGERS)
    runs = _storm(lambda i: services.run_trigger(action=action, episode=episodes[i], user=member))
    assert len(runs) == TRIGGERS
    assert _executed(action) == 7
    assert len(receiver.received) == 7
    refused = [r for r in runs if r.state == ActionRun.State.REFUSED]
    assert {r.guardrail for r in refused} == {Guardrail.RATE_BUDGET}


def test_max_concurrent_per_action_and_per_system_hold(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: User,
    settings: Settings,
) -> None:
    receiver.behaviour.delay = 0.3
    settings.STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM = 3
    narrow = make_action(f"{receiver.url}/narrow", max_runs_per_hour=100, max_concurrent=2)
    wide = make_action(f"{receiver.url}/wide", max_runs_per_hour=100, max_concurrent=TRIGGERS)
    episodes = _episodes(make_episode, rule, TRIGGERS)
    in_flight: dict[str, int] = {}

    def trigger(i: int) -> ActionRun:
        return services.run_trigger(
            action=narrow if i % 2 else wide, episode=episodes[i], user=member
        )

    runs = _storm(trigger)
    del in_flight
    assert receiver.behaviour.max_in_flight <= 3
    narrow_paths = [r for r in receiver.received if r.path == "/narrow"]
    assert narrow_paths  # something ran
    guardrails = {r.guardrail for r in runs if r.state == ActionRun.State.REFUSED}
    assert guardrails <= {Guardrail.MAX_CONCURRENT, Guardrail.MAX_CONCURRENT_SYSTEM}
    assert Guardrail.MAX_CONCURRENT_SYSTEM in guardrails
    # At no time did the database hold more active runs than allowed: every executed run
    # finished, and the receiver never saw more than the system's limit at once.
    assert not ActionRun.objects.filter(state__in=ActionRun.ACTIVE).exists()


def test_the_cooldown_lets_one_run_through_per_series(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: User,
) -> None:
    action = make_action(
        f"{receiver.url}/x", cooldown_seconds=600, max_runs_per_hour=100, max_concurrent=TRIGGERS
    )
    [episode] = _episodes(make_episode, rule, 1)
    runs = _storm(lambda i: services.run_trigger(action=action, episode=episode, user=member))
    assert _executed(action) == 1
    assert len(receiver.received) == 1
    assert sorted(r.attempt for r in runs) == list(range(1, TRIGGERS + 1))
    assert {r.guardrail for r in runs if r.state == "refused"} == {Guardrail.COOLDOWN}


def test_the_circuit_breaker_holds_and_trips_once(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    settings: Settings,
) -> None:
    settings.STEWARD_AUTOMATION_MAX_AUTO_RUNS_PER_HOUR = 7
    settings.STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM = TRIGGERS
    actions = [
        make_action(
            f"{receiver.url}/a{n}",
            trigger=Action.Trigger.AUTOMATIC,
            max_runs_per_hour=100,
            max_concurrent=TRIGGERS,
        )
        for n in range(2)
    ]
    episodes = _episodes(make_episode, rule, TRIGGERS)
    runs = _storm(
        lambda i: services.run_trigger(
            action=actions[i % 2], episode=episodes[i], kind=ActionRun.TriggerKind.AUTOMATIC
        )
    )
    executed = sum(_executed(a) for a in actions)
    assert executed == 7
    assert len(receiver.received) == 7
    assert services.switch_get().breaker_tripped
    assert AutomationEvent.objects.filter(kind="breaker_tripped").count() == 1
    assert {r.guardrail for r in runs if r.state == "refused"} == {Guardrail.CIRCUIT_BREAKER}


def test_the_dry_run_count_holds(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: User,
    settings: Settings,
) -> None:
    settings.STEWARD_AUTOMATION_DRY_RUN_TRIGGERS = 5
    settings.STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM = TRIGGERS
    action = make_action(
        f"{receiver.url}/x", promoted=False, max_runs_per_hour=100, max_concurrent=TRIGGERS
    )
    episodes = _episodes(make_episode, rule, TRIGGERS)
    runs: list[Any] = _storm(
        lambda i: services.run_trigger(action=action, episode=episodes[i], user=member)
    )
    assert sum(1 for r in runs if r.state == ActionRun.State.DRY_RUN) == 5
    assert _executed(action) == TRIGGERS - 5
    action.refresh_from_db()
    assert action.dry_run_remaining == 0
