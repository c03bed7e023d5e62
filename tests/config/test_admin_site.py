"""Every model registered in the admin: changelist, add form and change form load."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.automation.models import Action, ActionRun, AutomationEvent
from alerts.models import AlertRule, Delivery, Episode, Waiver
from alerts.models.lint import LintCheck
from alerts.silences.models import Silence, SilenceEvent, TeamSilenceEnforcement
from fleet.models import AISystem, Membership, Team
from fleet_coverage.models import SLO, ScorecardSnapshot
from fleet_coverage.slo.services import slo_save
from runbooks.models import Runbook
from runbooks.services import runbook_save
from tokens.models import ApiToken, Integration
from tokens.services import token_create

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.fixture
def admin_client_logged(make_user: Callable[..., User]) -> Client:
    user = make_user("root", staff=True, is_superuser=True)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def catalog(team: Team, member: User) -> None:
    """At least one row of every model the admin registers, so every change form is loaded."""
    system = AISystem.objects.create(slug="fraud-scorer", name="Fraud scorer", owner_team=team)
    runbook = runbook_save(
        runbook=Runbook(slug="latency"), author=None, title="Latency", body="## Summary\n"
    )
    rule = AlertRule.objects.create(
        alertname="ModelLatencyHigh",
        matchers={"model": "fraud-scorer"},
        system=system,
        owner_team=team,
        runbook=runbook,
    )
    AlertRule.objects.create(alertname="Orphan", status=AlertRule.Status.MUTED)
    Group.objects.create(name="Platform admins")
    slo_save(
        slo=SLO(),
        system=system,
        name="Availability",
        slug="availability",
        ratio_query="avg_over_time(up[$window])",
        objective=Decimal("99.5"),
        runbook=runbook,
    )
    ScorecardSnapshot.objects.create(system=system, week="2026-W47", score=80, missing=["slo"])
    Waiver.objects.create(
        alertname="Orphan",
        lint_check=LintCheck.RUNBOOK,
        reason="runbook in review",
        approver=member,
        expires_at=timezone.now() + timedelta(days=7),
    )
    integration = Integration.objects.create(name="prod alertmanager", source="prometheus")
    token, _ = token_create(
        name="alertmanager", scope=ApiToken.Scope.INGEST, integration=integration
    )
    delivery = Delivery.objects.create(
        source="prometheus",
        integration=integration,
        token=token,
        body='{"version": "4"}',
        content_type="application/json",
        outcome=Delivery.Outcome.ACCEPTED,
    )
    Episode.objects.create(
        rule=rule,
        fingerprint="4c33aed61970e396",
        labels={"alertname": "ModelLatencyHigh", "model": "fraud-scorer"},
        starts_at=timezone.now() - timedelta(hours=1),
        source="prometheus",
        system=system,
        first_delivery=delivery,
    )
    silence = Silence.objects.create(
        alertmanager_id="6ffe29d6-954e-4144-95ee-f819ef9a4126",
        matchers=[{"name": "alertname", "value": "Orphan", "isRegex": False, "isEqual": True}],
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=2),
        state=Silence.State.ACTIVE,
        first_seen_at=timezone.now(),
        last_seen_at=timezone.now(),
    )
    SilenceEvent.objects.create(silence=silence, kind=SilenceEvent.Kind.SEEN, at=timezone.now())
    TeamSilenceEnforcement.objects.create(team=team, mode=TeamSilenceEnforcement.Mode.DRY_RUN)
    action = Action.objects.create(
        team=team,
        runbook=runbook,
        step="summary",
        name="Shift traffic to the fallback model",
        url="https://hooks.example.com/fallback",
    )
    episode = Episode.objects.get(fingerprint="4c33aed61970e396")
    run = ActionRun.objects.create(
        action=action,
        action_version=action.version,
        episode=episode,
        attempt=1,
        trigger=ActionRun.TriggerKind.MANUAL,
        state=ActionRun.State.DRY_RUN,
    )
    AutomationEvent.objects.create(
        kind=AutomationEvent.Kind.DRY_RUN, action=action, run=run, episode=episode
    )
    login = {"user_agent": "curl/8", "ip_address": "127.0.0.1", "username": "mallory"}
    AccessAttempt.objects.create(
        **login,
        http_accept="*/*",
        path_info="/accounts/login/",
        get_data="",
        post_data="username=mallory",
        failures_since_start=1,
    )
    AccessFailureLog.objects.create(**login, http_accept="*/*", path_info="/accounts/login/")
    AccessLog.objects.create(**login, http_accept="*/*", path_info="/accounts/login/")


def _url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_catalog_models_are_registered() -> None:
    assert {Team, Membership, AISystem, AlertRule, Runbook}.issubset(set(REGISTERED))


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_changelist_loads(admin_client_logged: Client, catalog: None, model: type[Model]) -> None:
    assert admin_client_logged.get(_url(model, "changelist")).status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_changelist_search_and_filters_load(
    admin_client_logged: Client, catalog: None, model: type[Model]
) -> None:
    response = admin_client_logged.get(_url(model, "changelist"), {"q": "fraud"})
    assert response.status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_add_form_loads_or_is_refused(
    admin_client_logged: Client, catalog: None, model: type[Model]
) -> None:
    model_admin = admin.site._registry[model]
    request = admin_client_logged.get("/").wsgi_request
    expected = 200 if model_admin.has_add_permission(request) else 403
    assert admin_client_logged.get(_url(model, "add")).status_code == expected


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.label)
def test_change_form_loads(admin_client_logged: Client, catalog: None, model: type[Model]) -> None:
    obj = model._default_manager.first()
    assert obj is not None, f"the catalog fixture has no {model._meta.label} row: add one"
    assert admin_client_logged.get(_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize(
    ("model", "params", "expected", "absent"),
    [
        (Team, {"members": "none"}, "Empty team", "Fraud ML"),
        (AISystem, {"owner": "none"}, "Unowned system", "Fraud scorer"),
        (AlertRule, {"gap": "no_owner"}, "Orphan", "ModelLatencyHigh"),
        (AlertRule, {"gap": "no_runbook"}, "Orphan", "ModelLatencyHigh"),
        (Runbook, {"review": "stale"}, "Latency", "zzz-never"),
    ],
)
def test_gap_filters_select_what_is_missing(
    admin_client_logged: Client,
    catalog: None,
    model: type[Model],
    params: dict[str, str],
    expected: str,
    absent: str,
) -> None:
    Team.objects.create(slug="empty", name="Empty team")
    AISystem.objects.create(slug="unowned", name="Unowned system")
    body = admin_client_logged.get(_url(model, "changelist"), params).content.decode()
    assert expected in body
    assert absent not in body


def test_columns_show_missing_owner_runbook_and_members(
    admin_client_logged: Client, catalog: None
) -> None:
    Team.objects.create(slug="empty", name="Empty team")
    teams = admin_client_logged.get(_url(Team, "changelist")).content.decode()
    assert "no members" in teams
    rules = admin_client_logged.get(_url(AlertRule, "changelist")).content.decode()
    assert "no owner" in rules
    assert "no runbook" in rules
    runbooks = admin_client_logged.get(_url(Runbook, "changelist")).content.decode()
    assert "never reviewed" in runbooks


def _rule_form(**overrides: str) -> dict[str, str]:
    data = {
        "alertname": "FeatureDriftHigh",
        "matchers": "{}",
        "summary": "",
        "severity": "ticket",
        "layer": "ml",
        "source": "manual",
        "catalogued": "on",
        "owner_team": "",
        "system": "",
        "runbook": "",
        "status": "active",
        "muted_until_0": "",
        "muted_until_1": "",
        "expression": "",
        "for_duration": "",
        "labels": "{}",
    }
    data.update(overrides)
    return data


def test_admin_muting_a_rule_sets_muted_at(admin_client_logged: Client, catalog: None) -> None:
    response = admin_client_logged.post(_url(AlertRule, "add"), _rule_form(status="muted"))
    assert response.status_code == 302
    rule = AlertRule.objects.get(alertname="FeatureDriftHigh")
    assert rule.status == "muted"
    assert rule.muted_at is not None


def test_admin_explains_a_mute_that_ends_in_the_past(
    admin_client_logged: Client, catalog: None
) -> None:
    response = admin_client_logged.post(
        _url(AlertRule, "add"),
        _rule_form(status="muted", muted_until_0="2020-01-01", muted_until_1="10:00:00"),
    )
    assert response.status_code == 200
    assert "This date is in the past" in response.content.decode()
    assert not AlertRule.objects.filter(alertname="FeatureDriftHigh").exists()


def test_admin_explains_a_duplicate_rule(admin_client_logged: Client, catalog: None) -> None:
    response = admin_client_logged.post(
        _url(AlertRule, "add"),
        _rule_form(alertname="ModelLatencyHigh", matchers='{"model": "fraud-scorer"}'),
    )
    assert response.status_code == 200
    assert "already exists" in response.content.decode()


def test_admin_runbook_save_writes_a_revision(admin_client_logged: Client, catalog: None) -> None:
    runbook = Runbook.objects.get(slug="latency")
    data = {
        "title": "Latency",
        "slug": "latency",
        "owner_team": "",
        "body": "## Summary\n\nChanged in the admin.",
        "last_reviewed_at_0": timezone.now().strftime("%Y-%m-%d"),
        "last_reviewed_at_1": "10:00:00",
        "review_interval_days": "90",
        "revisions-TOTAL_FORMS": "1",
        "revisions-INITIAL_FORMS": "1",
        "revisions-MIN_NUM_FORMS": "0",
        "revisions-MAX_NUM_FORMS": "1000",
        "revisions-0-id": str(runbook.revisions.get().pk),
        "revisions-0-runbook": str(runbook.pk),
    }
    response = admin_client_logged.post(_url(Runbook, "change", runbook.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    revisions = list(runbook.revisions.order_by("created_at", "id"))
    assert len(revisions) == 2
    assert revisions[-1].body.endswith("Changed in the admin.")
    assert revisions[-1].author is not None
    assert revisions[-1].author.username == "root"


def test_runbook_revisions_are_read_only(admin_client_logged: Client, catalog: None) -> None:
    revision = Runbook.objects.get(slug="latency").revisions.get()
    response = admin_client_logged.post(
        _url(type(revision), "change", revision.pk), {"note": "tampered"}
    )
    assert response.status_code == 403
    revision.refresh_from_db()
    assert revision.note == ""


def test_team_add_form_creates_members_inline(
    admin_client_logged: Client, make_user: Callable[..., User]
) -> None:
    bob = make_user("bob")
    response = admin_client_logged.post(
        _url(Team, "add"),
        {
            "name": "Search",
            "slug": "search",
            "timezone": "Not/AZone",
            "email": "",
            "chat_channel": "",
            "chat_webhook_url": "",
            "escalation_url": "",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-user": str(bob.pk),
            "memberships-0-role": "lead",
        },
    )
    assert response.status_code == 200
    assert "not a time zone of the tz database" in response.content.decode()


def test_team_form_refuses_an_internal_chat_webhook(admin_client_logged: Client) -> None:
    response = admin_client_logged.post(
        _url(Team, "add"),
        {
            "name": "Search",
            "slug": "search",
            "timezone": "UTC",
            "email": "",
            "chat_channel": "",
            "chat_webhook_url": "http://169.254.169.254/latest/meta-data/",
            "escalation_url": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert "169.254.169.254 is a link-local address" in response.content.decode()
    assert not Team.objects.filter(slug="search").exists()
