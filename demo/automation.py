"""The demo's runbook automation: the fraud scorer's latency alert can shift traffic to the
fallback model, through a small receiver that Steward itself serves in the demo.

`make demo` sets STEWARD_DEMO=1 (DEBUG only, config/settings.py): Steward then answers at
RECEIVER_PATH (demo/views.py) and its automation may call its own address (STEWARD_BASE_URL)
and nothing else internal. The receiver verifies the HMAC signature with the demo's published
key, as a real receiver would (alerts.automation.signing.signature_verify), and answers what it
would shift.

The seed creates the action through the automation services and, once, a past episode of the
alert with its audit trail: a dry run, the promotion, a run requested by one member of Fraud ML
and approved by another, the signed request, the receiver's answer and the verification that
the alert resolved. No server runs while the seed does, so that one request is handed to the
receiver's own handler in-process (`receive`, the code the view runs), signed and answered at
the moment the history says; every other step is the service a user's click calls.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction

from alerts.automation import services as automation
from alerts.automation import signing
from alerts.automation.guardrails import host_refusal
from alerts.automation.models import Action, ActionRun
from alerts.integrations.alertmanager.fingerprint import fingerprint
from alerts.models import AlertRule, Episode
from core import outbound
from core.choices import Source

ACTION_NAME = "Shift traffic to the fallback model"
RECEIVER_PATH = "/demo/receiver/traffic-shift/"
# A published demo key (like the demo password), never a real secret.
SIGNING_KEY = "steward-demo-signing-key"  # noqa: S105
ALERTNAME, MODEL, TEAM = "ModelLatencyHigh", "fraud-scorer", "fraud-ml"
BODY_TEMPLATE = (
    '{"model": {{ labels.model }}, "to": "rules-only-fallback", '
    '"reason": {{ annotations.summary | default(rule.alertname) }}, '
    '"episode": {{ episode.id }}, "attempt": {{ run.attempt }}, "steward": {{ steward_url }}}'
)
# The past episode the history happened on: its own pod (its own series), hours before `now`.
HISTORY_POD = "fraud-scorer-6f9c7d-h2k8q"
HISTORY_AGO = timedelta(days=2, hours=3)
ACTION_AGE = timedelta(days=9)
HISTORY_GENERATOR = "https://grafana.example.com/alerting/fraud-scorer-latency"


def receiver_url() -> str:
    return f"{settings.STEWARD_BASE_URL}{RECEIVER_PATH}"


def receiver_allowed() -> bool:
    """May Steward call the demo receiver with these settings (STEWARD_DEMO=1 lists it)?"""
    url = receiver_url()
    if host_refusal(url) is not None:
        return False
    try:
        outbound.validate_outbound_url(url)
    except ValidationError:
        return False
    return True


def receive(
    body: bytes, headers: Mapping[str, str], *, now: float | None = None
) -> tuple[int, dict[str, Any]]:
    """The demo receiver: verify the signature, then say what it shifts (nothing real is)."""
    valid = signing.signature_verify(
        SIGNING_KEY,
        timestamp=headers.get(signing.TIMESTAMP_HEADER),
        body=body,
        signature_header=headers.get(signing.SIGNATURE_HEADER),
        now=now,
    )
    if not valid:
        return 401, {"accepted": False, "error": "bad or stale signature"}
    try:
        payload = json.loads(body)
    except ValueError:
        return 400, {"accepted": False, "error": "the body is not JSON"}
    if not isinstance(payload, dict):
        return 400, {"accepted": False, "error": "the body is not a JSON object"}
    return 200, {
        "accepted": True,
        "shifted": payload.get("model"),
        "to": payload.get("to"),
        "episode": payload.get("episode"),
        "idempotency_key": headers.get(signing.IDEMPOTENCY_HEADER, ""),
        "note": "Demo receiver: the signature is valid; nothing real was shifted.",
    }


def _send_in_process(at: datetime) -> automation.Send:
    """core.outbound.send's signature, answered by `receive` at `at` (the history's moment)."""

    def send(
        method: str,
        url: str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> outbound.OutboundResponse:
        status, answer = receive(body, headers or {}, now=at.timestamp())
        return outbound.OutboundResponse(status=status, body=json.dumps(answer).encode())

    return send


def _history_episode(rule: AlertRule, start: datetime) -> Episode:
    labels = {
        **{k: str(v) for k, v in (rule.labels or {}).items()},
        "alertname": rule.alertname,
        "pod": HISTORY_POD,
    }
    return Episode.objects.create(
        rule=rule,
        fingerprint=fingerprint(labels),
        labels=labels,
        annotations={"summary": rule.summary} if rule.summary else {},
        starts_at=start,
        source=Source.PROMETHEUS,
        system_id=rule.system_id,
        generator_url=HISTORY_GENERATOR,
        last_notified_at=start,
        notification_count=1,
        created_at=start,
        updated_at=start,
    )


def _history(action: Action, rule: AlertRule, people: list[User], now: datetime) -> None:
    """The past episode and its audit trail, each step through the automation services."""
    lead, requester, approver = people
    start = now - HISTORY_AGO
    episode = _history_episode(rule, start)
    minute = timedelta(minutes=1)
    # A dry run while the new action proved itself, then its owner promotes it.
    automation.run_trigger(action=action, episode=episode, user=requester, now=start + 2 * minute)
    action = automation.action_promote(action=action, user=lead, now=start + 4 * minute)
    run = automation.run_trigger(
        action=action, episode=episode, user=requester, now=start + 5 * minute
    )
    run = automation.run_approve(run=run, user=approver, now=start + 6 * minute)
    if run.state != ActionRun.State.QUEUED:
        raise RuntimeError(f"the demo's approved run was refused: {run.refusal}")
    sent = start + 6 * minute + timedelta(seconds=2)
    automation.run_execute(run.pk, now=sent, send=_send_in_process(sent))
    # Traffic on the fallback, latency falls back under the budget: Alertmanager resolves it.
    ended = start + 11 * minute
    Episode.objects.filter(pk=episode.pk).update(ends_at=ended, updated_at=ended)
    automation.run_verify(run.pk, now=ended + minute)


@transaction.atomic
def demo_automation_seed(*, now: datetime) -> int:
    """Create the action and its history once; returns 1 when it created them, else 0.

    An existing action is kept (its audit trail is append-only); only its URL follows the
    demo's address when STEWARD_BASE_URL changed (a change the audit records). Skipped when
    the settings do not let Steward call the receiver (seed_demo outside `make demo`)."""
    rule = (
        AlertRule.objects.filter(alertname=ALERTNAME, matchers__model=MODEL)
        .select_related("runbook", "owner_team")
        .first()
    )
    if rule is None or rule.runbook_id is None or rule.owner_team_id is None:
        return 0
    if not receiver_allowed():
        return 0
    people = list(
        User.objects.filter(memberships__team=rule.owner_team).order_by(
            "memberships__role",
            "pk",  # the lead ("lead" < "member") first
        )[:3]
    )
    existing = Action.objects.filter(runbook=rule.runbook, name=ACTION_NAME).first()
    if existing is not None:
        if existing.url != receiver_url() and people:
            automation.action_update(action=existing, user=people[0], url=receiver_url())
        return 0
    if len(people) < 3:
        return 0
    action = automation.action_create(
        user=people[0],
        team_id=rule.owner_team_id,
        runbook_id=rule.runbook_id,
        name=ACTION_NAME,
        url=receiver_url(),
        signing_key=SIGNING_KEY,
        step="mitigation",
        description=(
            "Switch the payment gateway to the rules-only fallback while the scorer is slow "
            "(the runbook's first mitigation step). High risk: a second member approves."
        ),
        risk=Action.Risk.HIGH,
        body_template=BODY_TEMPLATE,
        timeout_seconds=5,
        verify_resolution_seconds=900,
        max_runs_per_hour=4,
        cooldown_seconds=600,
        now=now - ACTION_AGE,
    )
    _history(action, rule, people, now)
    return 1
