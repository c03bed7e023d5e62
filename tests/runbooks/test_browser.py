"""A hostile runbook in a real browser (Debian's Chromium): no dialog opens, no script runs.

The sanitizer is the first layer and the Content-Security-Policy the second; a CSP violation
report in the console would mean markup got past nh3, so it fails the test too.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

from alerts.models import AlertRule, Episode
from fleet.models import Membership, Team
from runbooks import views
from runbooks.models import Runbook
from runbooks.services import runbook_save
from tests.conftest import require_service
from tests.support.processes import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"

HOSTILE_BODY = """# Hostile runbook

Everything below tries to run `window.__pwned` or open a dialog.

[reference][evil]

![image](javascript:alert(16))

[evil]: javascript:window.__pwned=17

<script>window.__pwned = 1; alert("script")</script>

<img src="x" onerror="window.__pwned = 2; alert('img')">

<svg onload="window.__pwned = 3; alert('svg')"><circle r="4"/></svg>

<details open ontoggle="window.__pwned = 4; alert('details')"><summary>s</summary>d</details>

<iframe src="javascript:parent.__pwned = 5; alert('iframe')"></iframe>

<iframe srcdoc="<script>parent.__pwned = 6</script>"></iframe>

<object data="data:text/html,<script>alert('object')</script>"></object>

<embed src="data:text/html,<script>alert('embed')</script>">

<body onload="window.__pwned = 7">

<style>@import 'javascript:alert(8)';</style>

<p style="background:url('javascript:alert(9)')">styled</p>

<base href="javascript:alert(10)//">

<form action="javascript:alert(11)"><button id="submit-me">Go</button></form>

<math><maction actiontype="statusline" xlink:href="javascript:alert(12)">m</maction></math>

<!--><img src=x onerror="window.__pwned = 13">-->

<a id="jslink" href="JaVaScRiPt:window.__pwned=14;alert('link')">click me</a>

<a id="entity" href="&#106;avascript:window.__pwned=15">entity link</a>

<marker-end>The end.</marker-end>

"""


def _chromium_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return os.path.exists(CHROMIUM) or shutil.which("chromium") is not None


@pytest.fixture
def server() -> Iterator[LiveServer]:
    live = LiveServer(f"127.0.0.1:{free_port()}")
    try:
        yield live
    finally:
        live.stop()


def _logged_in_session(body: str) -> str:
    """A team lead, the hostile runbook on an alert with a firing episode; the session id."""
    team = Team.objects.create(slug="fraud-ml", name="Fraud ML")
    user = User.objects.create_user("oncall", password="pw-for-tests")
    Membership.objects.create(team=team, user=user, role=Membership.Role.LEAD)
    runbook = runbook_save(
        runbook=Runbook(slug="hostile", title="Hostile", owner_team=team), author=user, body=body
    )
    rule = AlertRule.objects.create(alertname="Hostile", owner_team=team, runbook=runbook)
    Episode.objects.create(
        rule=rule,
        fingerprint="f" * 16,
        labels={"alertname": "Hostile", "model": "<script>alert(1)</script>"},
        starts_at=timezone.now() - timedelta(minutes=5),
        source="prometheus",
    )
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


@contextmanager
def _browser_page(server: LiveServer, session: str) -> Iterator[tuple[Page, list[str], list[str]]]:
    """A Chromium page logged in as the session, with the dialogs and console lines it saw."""
    from playwright.sync_api import sync_playwright

    dialogs: list[str] = []
    console: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
            page = context.new_page()
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            yield page, dialogs, console
        finally:
            browser.close()


def test_hostile_runbook_runs_no_script_in_chromium(server: LiveServer, tmp_path: Path) -> None:
    require_service(_chromium_available(), f"Chromium at {CHROMIUM} with Playwright")
    session = _logged_in_session(HOSTILE_BODY)

    with _browser_page(server, session) as (page, dialogs, console):
        pages = [
            "/runbooks/hostile/",
            "/runbooks/for/Hostile/?model=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        ]
        for path in pages:
            page.goto(server.url + path, wait_until="load", timeout=20_000)
            assert page.locator("h1").first.is_visible()
            assert "The end." in page.content()
            # The ids are stripped by the sanitizer, so find the links by their text.
            for text in ("click me", "entity link", "reference"):
                link = page.locator("article a", has_text=text)
                assert link.count() == 1, text
                link.first.click(timeout=2_000)
            page.wait_for_timeout(300)
            assert page.evaluate("window.__pwned") is None, path
            page.screenshot(path=str(tmp_path / f"{path.strip('/').replace('/', '_')}.png"))

        assert "Hostile runbook" in page.content()
        assert dialogs == []
        assert not [line for line in console if "pwned" in line or "Content Security" in line]
        assert not [line for line in console if line.startswith("pageerror")]
        # The harness itself must notice a dialog, or the assertions above prove nothing.
        page.evaluate("alert('harness')")
        assert dialogs == ["harness"]
    assert any(tmp_path.glob("*.png"))


def test_csp_blocks_inline_script_even_if_the_sanitizer_were_bypassed(
    server: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_service(_chromium_available(), f"Chromium at {CHROMIUM} with Playwright")
    # Simulate a sanitizer bug: the page gets the Markdown output unsanitized.
    monkeypatch.setattr(views, "render_runbook_html", lambda body: body)
    session = _logged_in_session(
        '<p>raw</p><script>window.__pwned = 1; alert("csp")</script>'
        '<img src="x" onerror="window.__pwned = 2">'
    )

    with _browser_page(server, session) as (page, dialogs, console):
        page.goto(server.url + "/runbooks/hostile/", wait_until="load", timeout=20_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(tmp_path / "csp.png"))

        assert page.locator("article script").count() == 1  # really served unsanitized
        assert page.evaluate("window.__pwned") is None
        assert dialogs == []
        assert any("Content Security Policy" in line for line in console), console
