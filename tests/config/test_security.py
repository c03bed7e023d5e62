from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings

from config.middleware import ContentSecurityPolicyMiddleware
from ops.security import client_ip

ROOT = Path(__file__).resolve().parents[2]
STRICT = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def test_check_deploy_is_clean_with_production_settings() -> None:
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "steward.example.com",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "LOG_FORMAT": "json",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_secret_key() -> None:
    env = {**os.environ, "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_pages_get_the_strict_content_security_policy(client: Client) -> None:
    response = client.get("/healthz")
    assert response["Content-Security-Policy"] == STRICT
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_policy_set_by_the_view_is_kept() -> None:
    def view(request: HttpRequest) -> HttpResponse:
        response = HttpResponse("runbook")
        response["Content-Security-Policy"] = "default-src 'none'"
        return response

    response = ContentSecurityPolicyMiddleware(view)(RequestFactory().get("/runbooks/x/"))
    assert response["Content-Security-Policy"] == "default-src 'none'"


def test_swagger_ui_gets_the_relaxed_policy_only_under_api_docs() -> None:
    middleware = ContentSecurityPolicyMiddleware(lambda request: HttpResponse("docs"))
    docs = middleware(RequestFactory().get("/api/docs/"))
    assert "script-src 'self' 'unsafe-inline'" in docs["Content-Security-Policy"]
    assert "object-src 'none'" in docs["Content-Security-Policy"]
    other = middleware(RequestFactory().get("/api/v1/teams/"))
    assert other["Content-Security-Policy"] == STRICT


@pytest.mark.django_db
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_admin_login_is_refused_after_too_many_failures(client: Client) -> None:
    User.objects.create_superuser("root", "root@example.com", "the-right-password")
    for _ in range(2):
        response = client.post(
            "/admin/login/", {"username": "root", "password": "wrong"}, REMOTE_ADDR="192.0.2.7"
        )
        assert response.status_code == 200  # the form again, with an error
    third = client.post(
        "/admin/login/", {"username": "root", "password": "wrong"}, REMOTE_ADDR="192.0.2.7"
    )
    assert third.status_code == 429
    # Even the right password is refused while locked out.
    right = client.post(
        "/admin/login/",
        {"username": "root", "password": "the-right-password"},
        REMOTE_ADDR="192.0.2.7",
    )
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # Another client address is not locked out by someone else's failures.
    other = Client().post(
        "/admin/login/",
        {"username": "root", "password": "the-right-password"},
        REMOTE_ADDR="198.51.100.1",
    )
    assert other.status_code == 302


@pytest.mark.django_db
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=2)
def test_page_login_is_rate_limited_too(client: Client) -> None:
    User.objects.create_user("bob", password="right-password-here")
    client.post("/accounts/login/", {"username": "bob", "password": "x"})
    response = client.post("/accounts/login/", {"username": "bob", "password": "x"})
    assert response.status_code == 429


def test_admin_requires_login(client: Client, db: None) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@override_settings(STEWARD_BEHIND_PROXY=False)
def test_client_ip_ignores_forwarded_header_without_a_proxy() -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.0.0.1")
    assert client_ip(request) == "192.0.2.1"


@override_settings(STEWARD_BEHIND_PROXY=True, STEWARD_PROXY_COUNT=1)
def test_client_ip_behind_a_proxy_takes_the_address_the_proxy_appended() -> None:
    # The client forged "1.1.1.1"; our proxy appended the real peer address last.
    request = RequestFactory().get(
        "/", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.9"
    )
    assert client_ip(request) == "203.0.113.9"
