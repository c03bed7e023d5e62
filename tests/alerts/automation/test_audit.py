"""The audit log is append-only; secrets never reach a log, the audit, the admin or a dry run."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.test import Client

from alerts.automation import services
from alerts.automation.models import Action, ActionRun, AppendOnlyError, AutomationEvent
from alerts.models import AlertRule, Episode
from tests.alerts.automation.conftest import BEARER_TOKEN, NOWHERE, SIGNING_KEY
from tests.support.webhook import WebhookServer

pytestmark = pytest.mark.django_db(transaction=True)


def test_events_cannot_be_changed_or_deleted(make_action: Callable[..., Action]) -> None:
    make_action(NOWHERE)
    event = AutomationEvent.objects.first()
    assert event is not None
    event.message = "nothing happened"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AutomationEvent.objects.filter(pk=event.pk).update(message="x")
    with pytest.raises(AppendOnlyError):
        AutomationEvent.objects.all().delete()


def test_postgresql_refuses_raw_updates_and_deletes(
    require_postgres: None, make_action: Callable[..., Action]
) -> None:
    make_action(NOWHERE)
    table = AutomationEvent._meta.db_table
    for statement in (f"UPDATE {table} SET message = 'x'", f"DELETE FROM {table}"):  # noqa: S608
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)
    assert AutomationEvent.objects.exclude(message="x").count() == AutomationEvent.objects.count()


def test_secrets_never_appear_in_logs_audit_runs_or_admin(
    receiver: WebhookServer,
    make_action: Callable[..., Action],
    make_episode: Callable[..., Episode],
    rule: AlertRule,
    member: User,
    second_member: User,
    make_user: Callable[..., User],
    console_log: io.StringIO,
    client: Client,
) -> None:
    action = make_action(f"{receiver.url}/x", promoted=False)
    episodes = [make_episode(rule, labels={"model": "fraud-scorer"}) for _ in range(4)]
    for episode in episodes[:2]:  # dry runs
        services.run_trigger(action=action, episode=episode, user=member)
    services.action_promote(action=action, user=member)
    receiver.behaviour.statuses = [503]
    services.run_trigger(action=action, episode=episodes[2], user=member)  # retried, succeeds
    services.action_update(action=action, user=member, risk=Action.Risk.HIGH)
    services.action_promote(action=action, user=member)
    run = services.run_trigger(
        action=action,
        episode=episodes[3],
        user=member,
        kind=ActionRun.TriggerKind.BREAK_GLASS,
        break_glass_reason="outage",
    )
    assert run.state == ActionRun.State.SUCCEEDED
    assert all(r.signature_valid for r in receiver.received)
    assert any(
        r.headers.get("Authorization") == f"Bearer {BEARER_TOKEN}" for r in receiver.received
    )

    stored: list[Any] = [
        list(ActionRun.objects.values()),
        list(AutomationEvent.objects.values()),
        services.dry_run_preview(action=action, episode=episodes[0], user=member),
    ]
    root = make_user("root", staff=True, is_superuser=True)
    client.force_login(root)
    pages = [
        f"/admin/automation/action/{action.pk}/change/",
        "/admin/automation/action/",
        f"/admin/automation/actionrun/{run.pk}/change/",
        "/admin/automation/automationevent/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        stored.append(response.content.decode())
    text = json.dumps(stored, default=str) + console_log.getvalue()
    for secret in (SIGNING_KEY, BEARER_TOKEN):
        assert secret not in text
    # The ciphertext is not shown either, and the stored value is not the plain text.
    action.refresh_from_db()
    assert SIGNING_KEY not in action.secret_ciphertext
    assert action.secret_ciphertext not in text


def test_the_admin_sets_a_secret_without_showing_it(
    make_action: Callable[..., Action], make_user: Callable[..., User], client: Client
) -> None:
    action = make_action(NOWHERE)
    before = action.secret_ciphertext
    client.force_login(make_user("root", staff=True, is_superuser=True))
    url = f"/admin/automation/action/{action.pk}/change/"
    page = client.get(url).content.decode()
    assert 'name="signing_key"' in page
    assert "TESTSECRET" not in page
    from django.forms.models import model_to_dict

    data = {
        k: ("" if v is None else json.dumps(v) if isinstance(v, dict) else v)
        for k, v in model_to_dict(action).items()
        if k not in ("id",)
    }
    data.update(signing_key="TESTSECRETnewkey", bearer_token="")
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    action.refresh_from_db()
    assert action.secret_ciphertext != before
    from core.secrets import decrypt_json

    secrets = decrypt_json(action.secret_ciphertext)
    assert secrets["signing_key"] == "TESTSECRETnewkey"
    assert secrets["bearer_token"] == BEARER_TOKEN  # left empty: kept
    assert AutomationEvent.objects.filter(action=action, kind="secret_set").exists()


def test_the_admin_applies_the_host_allow_list_and_the_template_check(
    make_action: Callable[..., Action], make_user: Callable[..., User], client: Client
) -> None:
    action = make_action(NOWHERE)
    client.force_login(make_user("root", staff=True, is_superuser=True))
    from django.forms.models import model_to_dict

    data = {
        k: ("" if v is None else json.dumps(v) if isinstance(v, dict) else v)
        for k, v in model_to_dict(action).items()
        if k != "id"
    }
    data.update(url="https://unlisted.example.com/hook", body_template='{"a": {{ x }')
    response = client.post(f"/admin/automation/action/{action.pk}/change/", data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "STEWARD_AUTOMATION_ALLOWED_HOSTS" in page
    assert "does not compile" in page
    action.refresh_from_db()
    assert action.url == NOWHERE
