"""Fixtures of the runbook automation tests: an owning team with two members, a rule whose
runbook has actions, and a real local receiver that verifies the HMAC signature."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings as SettingsWrapper

from alerts.automation import receivers, services
from alerts.automation.models import Action
from fleet.models import Membership, Team
from runbooks.models import Runbook
from tests.runbooks import conftest as runbook_fixtures
from tests.support.processes import free_port
from tests.support.webhook import WebhookServer, webhook_server

# The runbook tests' fixtures: a team's system, runbook, rule and episodes.
system = runbook_fixtures.system
runbook = runbook_fixtures.runbook
rule = runbook_fixtures.rule
make_episode = runbook_fixtures.make_episode
other_team_member = runbook_fixtures.other_team_member

SIGNING_KEY = "TESTSECRETsigningkey0123456789"
BEARER_TOKEN = "TESTSECRETbearertoken0123456789"  # noqa: S105 (a test marker)
# An allowed URL where nobody listens (actions that are never sent, or must fail to connect).
NOWHERE = f"http://127.0.0.1:{free_port()}/x"


@pytest.fixture(autouse=True)
def _automation_settings(settings: SettingsWrapper) -> None:
    """Actions may call the local receiver: its host is listed and loopback allowed."""
    settings.STEWARD_AUTOMATION_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1/32"]
    settings.STEWARD_AUTOMATION_DRY_RUN_TRIGGERS = 2
    settings.STEWARD_AUTOMATION_MAX_AUTO_RUNS_PER_HOUR = 30
    settings.STEWARD_AUTOMATION_MAX_CONCURRENT_PER_SYSTEM = 2
    settings.STEWARD_AUTOMATION_DISABLE_AFTER_FAILURES = 3
    settings.STEWARD_AUTOMATION_RETRIES = 2


@pytest.fixture(autouse=True)
def _no_timer_outlives_its_test() -> Iterator[None]:
    """Eager mode's delayed-trigger timers are threads: none may fire in a later test."""
    yield
    receivers.timers_cancel()


@pytest.fixture
def receiver() -> Iterator[WebhookServer]:
    with webhook_server() as server:
        server.behaviour.signing_key = SIGNING_KEY
        yield server


@pytest.fixture
def second_member(make_user: Callable[..., User], team: Team) -> User:
    user = make_user("second")
    Membership.objects.create(team=team, user=user)
    return user


BODY = (
    '{"model": {{ labels.model }}, "summary": {{ annotations.summary | default("") }}, '
    '"episode": {{ episode.id }}, "attempt": {{ run.attempt }}, "to": "fallback"}'
)


@pytest.fixture
def make_action(member: User, runbook: Runbook) -> Callable[..., Action]:
    counter = iter(range(10**6))

    def make(url: str, *, promoted: bool = True, user: User | None = None, **fields: Any) -> Action:
        fields.setdefault("body_template", BODY)
        fields.setdefault("cooldown_seconds", 0)
        action = services.action_create(
            user=user or member,
            team_id=runbook.owner_team_id,
            runbook_id=runbook.pk,
            name=fields.pop("name", f"shift traffic {next(counter)}"),
            url=url,
            signing_key=SIGNING_KEY,
            bearer_token=fields.pop("bearer_token", BEARER_TOKEN),
            **fields,
        )
        if promoted:
            action = services.action_promote(action=action, user=user or member)
        return action

    return make
