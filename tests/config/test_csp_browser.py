"""Swagger UI and the admin must still work under the Content-Security-Policy (real browser)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application
from playwright.sync_api import Page

from tests.conftest import require_service
from tests.support.processes import free_port, serve_then_close

PORT = free_port()
CHROMIUM = Path("/usr/bin/chromium")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(port: int = PORT) -> Iterator[str]:
    server: WSGIServer = make_server(
        "127.0.0.1", port, StaticFilesHandler(get_wsgi_application()), handler_class=_Quiet
    )
    thread = threading.Thread(target=serve_then_close, args=(server,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def browser_page(violations: list[str]) -> Iterator[Page]:
    require_service(CHROMIUM.exists(), "chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text
                else None,
            )
            yield page
        finally:
            browser.close()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_after_login_without_csp_violations() -> None:
    """The docs are behind the login: the form sends the visitor back, and the UI loads its
    offline assets and fetches the schema with the session cookie."""
    User.objects.create_user("reader", password="pw-for-the-browser")
    violations: list[str] = []
    with serve() as url, browser_page(violations) as page:
        page.goto(f"{url}/api/docs/")
        page.fill("input[name=username]", "reader")
        page.fill("input[name=password]", "pw-for-the-browser")
        with page.expect_navigation() as navigation:
            page.click("button[type=submit], input[type=submit]")
        assert page.url == f"{url}/api/docs/"
        assert "'unsafe-inline'" in navigation.value.headers["content-security-policy"]
        page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
        assert "Steward API" in page.inner_text(".swagger-ui .info .title")
    assert violations == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_admin_works_under_the_strict_policy() -> None:
    User.objects.create_superuser("root", "root@example.com", "pw-for-the-browser")
    violations: list[str] = []
    with serve() as url, browser_page(violations) as page:
        page.goto(f"{url}/admin/login/")
        page.fill("#id_username", "root")
        page.fill("#id_password", "pw-for-the-browser")
        page.click("input[type=submit]")
        page.wait_for_url(f"{url}/admin/")
        response = page.goto(f"{url}/admin/auth/user/add/")
        assert response is not None
        assert response.headers["content-security-policy"].startswith("default-src 'self'")
        page.wait_for_selector("#id_username")
        page.goto(f"{url}/admin/auth/user/")
        page.wait_for_selector("#changelist")
    assert violations == []
