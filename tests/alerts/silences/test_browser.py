"""The silence ledger in a real browser (Debian's Chromium) against a real Alertmanager 0.25:
staff syncs, the over-long silence is flagged, its team turns enforcement on, and the next sync
expires it in Alertmanager."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from alerts.silences.client import silence_create, silence_get
from alerts.silences.matchers import Matcher, rule_matchers
from alerts.silences.models import Silence, SilenceEvent, TeamSilenceEnforcement
from tests.alerts.silences.conftest import Catalog
from tests.conftest import require_service
from tests.support.processes import AlertmanagerServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sync_flag_and_enforce_an_over_long_silence_from_the_page(
    live_server: Any,
    alertmanager: AlertmanagerServer,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_service(Path(CHROMIUM).exists() and shutil.which(CHROMIUM) is not None, "Chromium")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.ALERTMANAGER_URL = alertmanager.url
    catalog = Catalog()
    User.objects.create_user("root", password="pw-for-tests", is_staff=True, is_superuser=True)
    catalog.alice.set_password("pw-for-tests")
    catalog.alice.save()
    now = timezone.now()
    fraud = rule_matchers(catalog.fraud_latency)
    # 10 days on a page rule (the policy allows 7), and 5 days that are fine.
    over_long = silence_create(
        alertmanager.url,
        matchers=[*fraud, Matcher("env", "prod")],
        starts_at=now,
        ends_at=now + timedelta(days=10),
        created_by="alice",
        comment="INC-7: scorer migration",
    )
    fine = silence_create(
        alertmanager.url,
        matchers=[*fraud, Matcher("env", "canary")],
        starts_at=now,
        ends_at=now + timedelta(days=5),
        created_by="alice",
        comment="INC-8: canary rollout",
    )
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            staff = browser.new_page()
            staff.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            _log_in(staff, live_server.url, "root")
            staff.goto(f"{live_server.url}/silences/")
            expect(staff.get_by_text("No active silences match.")).to_be_visible()
            staff.get_by_role("button", name="Sync from Alertmanager now").click()
            expect(staff.get_by_text("Synced:")).to_be_visible()
            rows = staff.locator("tbody tr")
            expect(rows).to_have_count(2)
            long_row = rows.filter(has_text="INC-7: scorer migration")
            expect(long_row.get_by_text("Over-long").first).to_be_visible()
            expect(rows.filter(has_text="INC-8").get_by_text("none")).to_be_visible()
            expect(long_row).to_contain_text("Fraud ML")

            long_row.get_by_role("link").first.click()
            expect(staff.get_by_text("ModelLatencyHigh").first).to_be_visible()

            # alice (fraud-ml) filters to her team and turns enforcement on.
            member = browser.new_page()
            _log_in(member, live_server.url, "alice")
            member.goto(f"{live_server.url}/silences/")
            member.locator("select[name=team]").select_option("fraud-ml")
            member.get_by_role("button", name="Filter").click()
            expect(member.get_by_role("button", name="Sync from Alertmanager now")).to_have_count(0)
            member.locator("select[name=mode]").select_option("enforce")
            member.get_by_role("button", name="Save").click()
            expect(member.get_by_text("Silence enforcement for Fraud ML: Enforce")).to_be_visible()
            expect(member.get_by_text("will expire")).to_be_visible()

            staff.goto(f"{live_server.url}/silences/")
            staff.get_by_role("button", name="Sync from Alertmanager now").click()
            expect(staff.get_by_text("Enforcement expired 1")).to_be_visible()
        finally:
            browser.close()

    assert TeamSilenceEnforcement.objects.get(team=catalog.fraud).mode == "enforce"
    expired, kept = silence_get(alertmanager.url, over_long), silence_get(alertmanager.url, fine)
    assert expired is not None and expired.state == "expired"
    assert kept is not None and kept.state == "active"
    ledger = Silence.objects.get(alertmanager_id=over_long)
    assert SilenceEvent.objects.filter(silence=ledger).exists()
    assert errors == []


def _log_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw-for-tests")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
