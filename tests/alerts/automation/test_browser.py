"""The automation buttons in a real browser (Debian's Chromium): the on-call page's dry run,
run, approval by a second member and break glass, against a real local receiver that verifies
the HMAC signature; the list and action pages with their guardrails and kill switches. No
Content-Security-Policy violation on the way."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import User
from django.db import connections
from playwright.sync_api import Page

from alerts.automation.models import Action, ActionRun, AutomationEvent, AutomationSwitch
from alerts.models import AlertRule, Episode
from tests.alerts.automation.conftest import BEARER_TOKEN, SIGNING_KEY
from tests.config import test_csp_browser
from tests.config.test_csp_browser import serve
from tests.support.processes import free_port
from tests.support.webhook import WebhookServer, webhook_server

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ONCALL = "/runbooks/for/ModelLatencyHigh/"
PASSWORD = "pw-for-tests"  # tests/conftest.py make_user


@pytest.fixture
def receiver() -> Iterator[WebhookServer]:
    """On a port the kernel picks (free), verifying the signature."""
    with webhook_server() as server:
        server.behaviour.signing_key = SIGNING_KEY
        yield server


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playwright's sync API runs an event loop in this thread; the ORM calls of the tests
    are still plain synchronous code (as in tests/alerts/review/test_browser.py)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@contextmanager
def browser_page(violations: list[str]) -> Iterator[Page]:
    """tests/config's Chromium page; the ORM calls made beside Playwright's event loop open
    connections of their own (asgiref's context-local storage), closed here so that none
    stays open on the PostgreSQL test database."""
    with test_csp_browser.browser_page(violations) as page:
        try:
            yield page
        finally:
            connections.close_all()


@pytest.fixture
def site() -> Iterator[str]:
    with serve(free_port()) as url:
        yield url


def _log_in(page: Page, url: str, user: User) -> None:
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", user.get_username())
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/accounts/login/" not in page.url


def _watch(page: Page, violations: list[str]) -> None:
    page.on(
        "console",
        lambda message: violations.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )


def _dry_run(page: Page, url: str) -> str:
    page.goto(f"{url}{ONCALL}")
    with page.expect_navigation():
        page.click("#automation button.dry-run")
    return page.inner_text(".dry-run-request pre.request")


def test_dry_run_then_run_a_low_risk_action_from_the_oncall_page(
    site: str,
    receiver: WebhookServer,
    member: User,
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
) -> None:
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    action = make_action(f"{receiver.url}/fallback", name="Shift traffic to the fallback model")
    violations: list[str] = []
    with browser_page(violations) as page:
        _log_in(page, site, member)
        request = _dry_run(page, site)
        assert f"POST {receiver.url}/fallback" in request
        assert "X-Steward-Signature: sha256=********" in request
        assert "Authorization: Bearer ********" in request
        assert "fraud-scorer" in request  # the rendered body
        html = page.content()
        assert SIGNING_KEY not in html and BEARER_TOKEN not in html
        assert receiver.received == [] and not ActionRun.objects.exists()

        with page.expect_navigation():
            page.click(".run-form button[name=run]")
        assert page.url == f"{site}{ONCALL}"
        [received] = receiver.received
        assert received.signature_valid is True and received.path == "/fallback"
        assert received.body["episode"] == episode.pk
        run = ActionRun.objects.get()
        assert (run.action, run.state, run.requested_by) == (action, "succeeded", member)
        assert "Succeeded" in page.inner_text("#automation .automation-runs")
        audit = page.locator("#automation .automation-audit")
        for kind in ("trigger", "queued", "request", "response", "outcome"):
            assert audit.locator(f"tr.audit-{kind}").count() == 1, kind
    assert violations == []


def test_a_high_risk_action_waits_for_a_second_member_and_break_glass_needs_a_reason(
    site: str,
    receiver: WebhookServer,
    member: User,
    second_member: User,
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
) -> None:
    make_episode(rule, labels={"model": "fraud-scorer"})
    action = make_action(f"{receiver.url}/fallback", risk=Action.Risk.HIGH)
    violations: list[str] = []
    with browser_page(violations) as page:
        _log_in(page, site, member)
        _dry_run(page, site)
        # No plain "Run" for a high-risk action: only a request for approval, or break glass.
        assert page.locator(".run-form button[name=run]").inner_text() == "Request approval"
        with page.expect_navigation():
            page.click(".run-form button[name=run]")
        run = ActionRun.objects.get()
        assert run.state == ActionRun.State.PENDING_APPROVAL and receiver.received == []
        # The requester is not offered their own run to approve.
        page.goto(f"{site}/automation/actions/{action.pk}/")
        assert page.locator(".approvals").count() == 0

        second = page.context.browser.new_context()  # type: ignore[union-attr]
        try:
            other = second.new_page()
            _watch(other, violations)
            _log_in(other, site, second_member)
            other.goto(f"{site}/automation/actions/{action.pk}/")
            with other.expect_navigation():
                other.click(".approvals button[value=approve]")
        finally:
            second.close()
        run.refresh_from_db()
        assert (run.state, run.approved_by) == (ActionRun.State.SUCCEEDED, second_member)
        assert len(receiver.received) == 1 and receiver.received[0].signature_valid

        # Break glass without a reason is refused; with one it runs at once.
        _dry_run(page, site)
        with page.expect_navigation():
            page.click(".run-form button[name=break_glass]")
        assert "Break glass needs a reason" in page.inner_text("body")
        assert ActionRun.objects.count() == 1 and len(receiver.received) == 1
        _dry_run(page, site)
        page.fill(".run-form textarea[name=break_glass_reason]", "payments are timing out")
        with page.expect_navigation():
            page.click(".run-form button[name=break_glass]")
        glass = ActionRun.objects.get(trigger=ActionRun.TriggerKind.BREAK_GLASS)
        assert glass.state == ActionRun.State.SUCCEEDED and glass.approved_by is None
        assert glass.break_glass_reason == "payments are timing out"
        assert len(receiver.received) == 2
        assert AutomationEvent.objects.filter(run=glass, kind="break_glass").exists()
        assert "Break glass" in page.inner_text("#automation .automation-audit")
    assert violations == []


def test_list_and_action_pages_show_the_guardrails_and_the_kill_switches_toggle(
    site: str,
    receiver: WebhookServer,
    member: User,
    make_user: Callable[..., User],
    rule: AlertRule,
    make_episode: Callable[..., Episode],
    make_action: Callable[..., Action],
) -> None:
    from alerts.automation import services

    staff = make_user("root", staff=True)
    action = make_action(f"{receiver.url}/fallback", max_runs_per_hour=5, cooldown_seconds=600)
    episode = make_episode(rule, labels={"model": "fraud-scorer"})
    assert services.run_trigger(action=action, episode=episode, user=member).state == "succeeded"
    violations: list[str] = []
    with browser_page(violations) as page:
        _log_in(page, site, staff)
        page.goto(f"{site}/automation/")
        assert action.name in page.inner_text(".automation-action-list")
        page.fill(".kill-switch input[name=reason]", "incident review")
        with page.expect_navigation():
            page.click(".kill-switch button[value=off]")
        switch = AutomationSwitch.objects.get()
        assert (switch.enabled, switch.reason) == (False, "incident review")
        assert "switched off fleet-wide" in page.inner_text("main")
        with page.expect_navigation():
            page.click(".kill-switch button[value=on]")
        assert AutomationSwitch.objects.get().enabled is True

        page.goto(f"{site}/automation/actions/{action.pk}/")
        guardrails = page.inner_text(".guardrails")
        assert "1 of 5 runs in the last hour" in guardrails
        assert f"ModelLatencyHigh {episode.fingerprint}" in guardrails  # in cooldown
        page.fill(".guardrails input[name=reason]", "receiver maintenance")
        with page.expect_navigation():
            page.click(".guardrails button[value=disable]")
        action.refresh_from_db()
        assert (action.disabled, action.disabled_reason) == (True, "receiver maintenance")
        assert "receiver maintenance" in page.inner_text(".disable-reason")
        with page.expect_navigation():
            page.click(".guardrails button[value=enable]")
        action.refresh_from_db()
        assert action.disabled is False
        assert page.locator("tr.audit-disabled").count() == 1
        assert page.locator("tr.audit-enabled").count() == 1
    assert violations == []
