"""Actions cannot reach internal addresses: not directly, not by redirect, not through DNS."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from pytest_django.fixtures import Settings

from alerts.automation import services
from alerts.automation.guardrails import Guardrail
from alerts.automation.models import Action, ActionRun
from alerts.models import AlertRule, Episode
from tests.alerts.automation.conftest import NOWHERE
from tests.support.webhook import WebhookServer

pytestmark = pytest.mark.django_db(transaction=True)

MakeAction = Callable[..., Action]


def _episode(make_episode: Callable[..., Episode], rule: AlertRule) -> Episode:
    return make_episode(rule, labels={"model": "fraud-scorer"})


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(NOWHERE, id="loopback"),
        "http://10.0.0.7/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://localhost/x",
    ],
)
def test_internal_addresses_are_refused_even_when_listed(
    make_action: MakeAction, settings: Settings, url: str
) -> None:
    settings.STEWARD_AUTOMATION_ALLOWED_HOSTS = [
        "127.0.0.1",
        "10.0.0.7",
        "169.254.169.254",
        "::1",
        "localhost",
    ]
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = []
    with pytest.raises(ValidationError, match="Steward does not send requests there"):
        make_action(url)


def test_a_listed_network_is_reached_and_unlisted_loopback_is_not(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: Any,
    settings: Settings,
) -> None:
    action = make_action(f"{receiver.url}/x")  # allowed by the fixture's settings
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = []  # and now no more
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.state == ActionRun.State.FAILED
    assert "loopback" in run.outcome
    assert receiver.received == []


def test_a_host_taken_off_the_allow_list_is_refused_at_send_time(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: Any,
    settings: Settings,
) -> None:
    action = make_action(f"{receiver.url}/x")
    settings.STEWARD_AUTOMATION_ALLOWED_HOSTS = ["remediation.example.com"]
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.state == ActionRun.State.REFUSED
    assert run.guardrail == Guardrail.HOST_NOT_ALLOWED
    assert receiver.received == []


def test_a_redirect_to_a_private_address_is_not_followed(
    receiver: WebhookServer,
    make_action: MakeAction,
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: Any,
) -> None:
    receiver.behaviour.status = 302
    receiver.behaviour.location = "http://10.0.0.7/admin"
    action = make_action(f"{receiver.url}/x")
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.state == ActionRun.State.FAILED
    assert run.response_status == 302
    assert len(receiver.received) == 1  # the redirect was not followed


def test_a_name_resolving_to_a_private_address_is_refused(
    make_action: MakeAction,
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: Any,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS cannot be controlled here: the resolver answers 10.0.0.5 for one name (as
    tests/core/test_outbound.py does)."""
    settings.STEWARD_AUTOMATION_ALLOWED_HOSTS = ["remediation.example.test"]
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "remediation.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    action = make_action("http://remediation.example.test/shift")  # a name passes at save time
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.state == ActionRun.State.FAILED
    assert "private-network" in run.outcome
    assert run.tries == 1  # a refusal is not retried


def test_localhost_by_name_is_refused_at_send_time(
    make_action: MakeAction,
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: Any,
    receiver: WebhookServer,
    settings: Settings,
) -> None:
    """`localhost` resolves to loopback here for real; allowed at save time through the
    network setting, refused at send time once it is withdrawn."""
    settings.STEWARD_AUTOMATION_ALLOWED_HOSTS = ["localhost"]
    port = receiver.server_address[1]
    action = make_action(f"http://localhost:{port}/x")
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = []
    run = services.run_trigger(action=action, episode=_episode(make_episode, rule), user=member)
    assert run.state == ActionRun.State.FAILED
    assert "loopback" in run.outcome
    assert receiver.received == []
