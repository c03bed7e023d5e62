"""What the pages show: status, per-episode history, and the weekly figures in the minutes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from alerts.automation import selectors, services
from alerts.automation.models import Action, ActionRun
from alerts.models import AlertRule, Engagement, Episode
from alerts.review import exports
from core.weeks import week_of
from tests.alerts.automation.conftest import NOWHERE
from tests.support.webhook import WebhookServer

pytestmark = pytest.mark.django_db(transaction=True)


def test_weekly_figures_and_minutes(
    frozen_now: datetime,
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: User,
    settings: Any,
) -> None:
    settings.STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM = 10
    action = make_action(
        f"{receiver.url}/shift",
        trigger=Action.Trigger.AUTOMATIC,
        verify_resolution_seconds=300,
        name="Shift traffic to the fallback model",
    )
    episodes = [make_episode(rule, labels={"model": "fraud-scorer"}) for _ in range(4)]
    for episode in episodes[:3]:
        services.run_trigger(action=action, episode=episode, kind="automatic")
    # Two resolve after the run; a person looked at one of them.
    Episode.objects.filter(pk__in=[episodes[0].pk, episodes[1].pk]).update(ends_at=timezone.now())
    Engagement.objects.create(episode=episodes[1], user=member, kind="runbook_view")
    services.verifications_settle()
    receiver.behaviour.status = 500
    services.run_trigger(action=action, episode=episodes[3], user=member)  # fails after retries

    [week] = selectors.action_weeks(week=week_of(frozen_now))
    assert (week.runs, week.succeeded, week.failed) == (4, 3, 1)
    assert (week.verified, week.resolved) == (2, 2)  # the third is still waiting
    assert week.episodes == 4
    assert week.resolved_without_human == 1
    assert week.share_without_human == 0.25
    assert week.success_rate == 0.75

    minutes = exports.minutes_build(week=week_of(frozen_now), team=None)
    text = exports.minutes_markdown(minutes)
    assert "## Runbook automation (1 actions)" in text
    assert "1 of 4 episodes resolved without a human (25%)" in text
    assert "automation,,Shift traffic" in exports.minutes_csv(minutes)

    history = selectors.events_for_episode(episodes[0].pk)
    assert [e.kind for e in history][:2] == ["trigger", "queued"]
    assert "verification" in [e.kind for e in history]
    assert list(selectors.runs_for_episode(episodes[3].pk))[0].state == ActionRun.State.FAILED
    assert list(selectors.actions_for_rule(rule)) == [action]


def test_status_and_approvals(
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: User,
    second_member: User,
    other_team_member: User,
    make_user: Callable[..., User],
) -> None:
    assert not selectors.automation_status().paused
    services.automation_switch_set(
        user=make_user("root", staff=True), enabled=False, reason="game day"
    )
    status = selectors.automation_status()
    assert status.paused and status.reason == "game day"
    services.automation_switch_set(user=make_user("root2", staff=True), enabled=True)

    action = make_action(NOWHERE, risk=Action.Risk.HIGH)
    run = services.run_trigger(
        action=action, episode=make_episode(rule, labels={"model": "m"}), user=member
    )
    assert list(selectors.approvals_waiting(second_member)) == [run]
    assert list(selectors.approvals_waiting(member)) == []  # not one's own
    assert list(selectors.approvals_waiting(other_team_member)) == []


def test_the_action_page_shows_the_figures_the_guardrails_enforce(
    frozen_now: datetime,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    settings: Any,
) -> None:
    """The page's state and the enforcement read the same selectors: at the limits the page
    shows, the guardrails refuse, and one run below them they let through."""
    from alerts.automation import guardrails, pages

    settings.STEWARD_AUTOMATION_MAX_AUTO_RUNS_PER_HOUR = 3
    action = make_action(
        "http://127.0.0.1:1/x", max_runs_per_hour=2, max_concurrent=1, cooldown_seconds=600
    )
    switch = services.switch_get()
    first, second = (make_episode(rule, labels={"model": f"m{i}"}) for i in range(2))
    now = timezone.now()
    run = ActionRun.objects.create(
        action=action,
        action_version=1,
        episode=first,
        attempt=1,
        trigger="automatic",
        state=ActionRun.State.QUEUED,
        created_at=now,
        queued_at=now,
    )
    state = pages.guardrail_state(action, now=now)
    assert (state.budget_used, state.active, state.auto_runs_last_hour) == (1, 1, 1)
    assert [(a, f) for a, f, _ in state.cooling] == [(rule.alertname, first.fingerprint)]
    refusal = guardrails.budget_refusal(
        switch=switch, action=action, episode=second, automatic=True, now=now
    )
    assert refusal is not None and refusal.guardrail == guardrails.Guardrail.MAX_CONCURRENT
    assert guardrails.cooldown_refusal(action, first, now) is not None
    assert guardrails.cooldown_refusal(action, second, now) is None

    ActionRun.objects.filter(pk=run.pk).update(state=ActionRun.State.SUCCEEDED)
    ActionRun.objects.create(
        action=action,
        action_version=1,
        episode=second,
        attempt=1,
        trigger="manual",
        state=ActionRun.State.SUCCEEDED,
        created_at=now,
        queued_at=now,
    )
    state = pages.guardrail_state(action, now=now)
    assert (state.budget_used, state.budget, state.active) == (2, 2, 0)
    assert state.auto_runs_last_hour == 1
    refusal = guardrails.budget_refusal(
        switch=switch, action=action, episode=second, automatic=False, now=now
    )
    assert refusal is not None and refusal.guardrail == guardrails.Guardrail.RATE_BUDGET
    # An hour later the budget is free again, on the page and in the enforcement alike.
    later = now + guardrails.HOUR + timedelta(seconds=1)
    assert pages.guardrail_state(action, now=later).budget_used == 0
    assert pages.guardrail_state(action, now=later).cooling == []
    assert (
        guardrails.budget_refusal(
            switch=switch, action=action, episode=second, automatic=False, now=later
        )
        is None
    )
