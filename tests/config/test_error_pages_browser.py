"""The 404 and lockout pages as a browser shows them: styled, no policy violations (Chromium)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from playwright.sync_api import Page

from tests.config.test_csp_browser import browser_page, serve
from tests.support.processes import free_port

PORT = free_port()
TOPBAR_GREY = "rgb(246, 248, 250)"  # .topbar background in static/steward.css


def assert_styled(page: Page) -> None:
    background = page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor")
    assert background == TOPBAR_GREY


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_404_page_renders_styled_with_its_links() -> None:
    violations: list[str] = []
    with serve(PORT) as url, browser_page(violations) as page:
        response = page.goto(f"{url}/no/such/page/")
        assert response is not None
        assert response.status == 404
        assert_styled(page)
        assert page.inner_text("h1") == "Nothing here"
        page.click("text=Log in")
        page.wait_for_url(f"{url}/accounts/login/")
    assert violations == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=2, AXES_COOLOFF_TIME=timedelta(minutes=15))
def test_lockout_page_renders_styled_after_failed_logins() -> None:
    User.objects.create_user("erin", password="erins-right-password")
    violations: list[str] = []
    with serve(PORT) as url, browser_page(violations) as page:
        for _ in range(2):
            page.goto(f"{url}/accounts/login/")
            page.fill("#id_username", "erin")
            page.fill("#id_password", "wrong")
            page.click("button[type=submit]")
            page.wait_for_load_state()
        assert page.inner_text("h1") == "Too many failed logins"
        assert_styled(page)
        text = page.inner_text("main")
        assert "locked for 15 minutes" in text
        assert "manage.py axes_reset_username erin" in text
    assert violations == []
