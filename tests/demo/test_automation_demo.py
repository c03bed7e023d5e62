"""The demo's runbook automation: the fraud scorer's latency alert shifts traffic to the
fallback model through the receiver Steward serves in the demo (demo/automation.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings as SettingsWrapper
from pytest_django.live_server_helper import LiveServer

from alerts.automation import services, signing
from alerts.automation.models import Action, ActionRun, AutomationEvent
from alerts.models import Episode
from demo import automation as demo_automation

NOW = "2026-11-25T14:30:00+00:00"
REPO = Path(__file__).resolve().parents[2]


def _demo_settings(settings: SettingsWrapper, base_url: str) -> None:
    """What STEWARD_DEMO=1 makes of the settings (config/settings.py; tested below)."""
    settings.STEWARD_DEMO = True
    settings.STEWARD_BASE_URL = base_url
    settings.STEWARD_AUTOMATION_ALLOWED_HOSTS = [urlsplit(base_url).netloc]
    settings.STEWARD_OUTBOUND_ALLOW_NETWORKS = ["127.0.0.1"]


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--now", NOW, stdout=out)
    return out.getvalue()


def _counts() -> tuple[int, int, int, int]:
    return (
        Action.objects.count(),
        ActionRun.objects.count(),
        AutomationEvent.objects.count(),
        Episode.objects.count(),
    )


@pytest.mark.django_db
def test_the_seed_creates_the_action_and_its_audit_trail_once(settings: SettingsWrapper) -> None:
    _demo_settings(settings, "http://127.0.0.1:8000")
    assert "1 automation action with its audit trail" in _seed()
    action = Action.objects.get(name=demo_automation.ACTION_NAME)
    assert action.url == "http://127.0.0.1:8000/demo/receiver/traffic-shift/"
    assert action.risk == Action.Risk.HIGH and action.team.slug == "fraud-ml"
    assert action.has_secret and demo_automation.SIGNING_KEY not in action.secret_ciphertext
    assert not action.in_dry_run and action.step == "mitigation"
    dry, run = ActionRun.objects.order_by("attempt")
    assert dry.state == ActionRun.State.DRY_RUN
    assert run.state == ActionRun.State.SUCCEEDED
    assert run.verification == ActionRun.Verification.RESOLVED
    assert run.requested_by != run.approved_by
    members = set(User.objects.filter(memberships__team=action.team))
    assert {run.requested_by, run.approved_by} <= members
    assert run.response_status == 200
    assert json.loads(run.response_excerpt)["accepted"] is True
    assert run.request["headers"][signing.SIGNATURE_HEADER] == f"sha256={services.MASK}"
    # Every step in the order it happened, at the moments of the episode's history.
    kinds = list(
        AutomationEvent.objects.filter(action=action)
        .order_by("at", "id")
        .values_list("kind", flat=True)
    )
    assert kinds == [
        "action_created",
        "trigger",
        "dry_run",
        "promoted",
        "trigger",
        "approval_requested",
        "approved",
        "queued",
        "request",
        "response",
        "outcome",
        "verification",
    ]
    episode = run.episode
    assert episode.ends_at is not None
    moments = AutomationEvent.objects.filter(run=run).values_list("at", flat=True)
    assert run.verified_at is not None
    assert all(episode.starts_at < at <= run.verified_at for at in moments)
    # The alert fires now: its on-call page is where a visitor finds the buttons.
    assert Episode.objects.filter(rule=episode.rule, ends_at=None).exists()

    before = _counts()
    assert "Created: nothing" in _seed()
    assert _counts() == before


@pytest.mark.django_db
def test_a_demo_on_another_port_moves_the_action_there_as_a_new_version(
    settings: SettingsWrapper,
) -> None:
    _demo_settings(settings, "http://127.0.0.1:8000")
    _seed()
    before = AutomationEvent.objects.count()
    _demo_settings(settings, "http://127.0.0.1:8011")
    assert "automation action" not in _seed()  # (the rule files follow the address too)
    action = Action.objects.get(name=demo_automation.ACTION_NAME)
    assert action.url == "http://127.0.0.1:8011/demo/receiver/traffic-shift/"
    assert action.version == 2 and action.in_dry_run  # a changed URL proves itself again
    assert AutomationEvent.objects.count() == before + 1
    assert AutomationEvent.objects.latest("id").kind == "action_changed"


@pytest.mark.django_db
def test_outside_the_demo_the_seed_adds_no_action() -> None:
    """`seed_demo` by hand (no STEWARD_DEMO): nothing Steward may not call is created."""
    _seed()
    assert not Action.objects.exists() and not AutomationEvent.objects.exists()


@pytest.mark.django_db
def test_the_receiver_verifies_the_signature_and_answers_only_in_the_demo(
    client: Client, settings: SettingsWrapper
) -> None:
    url = reverse("demo:receiver-traffic-shift")
    assert url == demo_automation.RECEIVER_PATH
    body = json.dumps({"model": "fraud-scorer", "to": "rules-only-fallback"}).encode()
    headers = {
        f"HTTP_{k.upper().replace('-', '_')}": v
        for k, v in signing.signed_headers(demo_automation.SIGNING_KEY, body).items()
    }
    settings.STEWARD_DEMO = False
    assert client.post(url, body, content_type="application/json", **headers).status_code == 404
    settings.STEWARD_DEMO = True
    response = client.post(url, body, content_type="application/json", **headers)
    assert response.status_code == 200
    assert response.json()["shifted"] == "fraud-scorer"
    forged = signing.signed_headers("not-the-demo-key", body)
    response = client.post(
        url,
        body,
        content_type="application/json",
        HTTP_X_STEWARD_TIMESTAMP=forged[signing.TIMESTAMP_HEADER],
        HTTP_X_STEWARD_SIGNATURE=forged[signing.SIGNATURE_HEADER],
    )
    assert response.status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_run_from_the_demo_reaches_the_receiver_steward_serves(
    live_server: LiveServer, settings: SettingsWrapper
) -> None:
    """As in `make demo`: Steward serves the receiver at its own address and calls it."""
    _demo_settings(settings, live_server.url)
    _seed()
    action = Action.objects.get(name=demo_automation.ACTION_NAME)
    firing = Episode.objects.filter(rule__runbook=action.runbook, ends_at=None).get()
    lead = User.objects.get(username="lena.vogt")
    run = services.run_trigger(
        action=action,
        episode=firing,
        user=lead,
        kind=ActionRun.TriggerKind.BREAK_GLASS,
        break_glass_reason="payments are timing out",
    )
    assert run.state == ActionRun.State.SUCCEEDED, run.outcome
    assert run.response_status == 200
    assert json.loads(run.response_excerpt)["idempotency_key"] == f"{action.pk}-{firing.pk}-1"


@pytest.mark.parametrize(
    ("debug", "base_url", "hosts", "networks"),
    [
        ("1", "http://127.0.0.1:8123", ["127.0.0.1:8123"], ["127.0.0.1"]),
        ("1", "http://localhost:8123", ["localhost:8123"], ["127.0.0.1", "::1"]),
        ("0", "http://127.0.0.1:8123", [], []),  # never outside DEBUG
    ],
)
def test_steward_demo_lists_only_stewards_own_address(
    debug: str, base_url: str, hosts: list[str], networks: list[str]
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("STEWARD_AUTOMATION", "STEWARD_OUTBOUND", "DJANGO_SETTINGS"))
    }
    env.update(DEBUG=debug, STEWARD_DEMO="1", STEWARD_BASE_URL=base_url, SECRET_KEY="x" * 50)
    code = (
        "import json; from config import settings as s; print(json.dumps([s.STEWARD_DEMO, "
        "s.STEWARD_AUTOMATION_ALLOWED_HOSTS, s.STEWARD_OUTBOUND_ALLOW_NETWORKS]))"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    ).stdout
    demo, listed_hosts, listed_networks = json.loads(out.strip().splitlines()[-1])
    assert (demo, listed_hosts, listed_networks) == (debug == "1", hosts, networks)
