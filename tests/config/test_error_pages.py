"""Error pages: styled HTML with a way back for people, the API's JSON body under /api/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory, override_settings

from api.errors import is_api_request
from config import error_pages

# Layout markers of base.html: the stylesheet, the brand link and the main landmark.
LAYOUT = ('<link rel="stylesheet" href="/static/steward.css">', 'class="brand"', '<main id="main">')


@pytest.fixture(autouse=True)
def production_like() -> Iterator[None]:
    # Handlers only answer with DEBUG off; with it on Django shows its technical pages.
    with override_settings(DEBUG=False, ROOT_URLCONF="tests.config.error_urls"):
        yield


@pytest.fixture
def signed_in(db: None) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_user("carol", password="pw-for-tests"))
    return client


def page(response: Any) -> str:
    return response.content.decode()


def assert_in_layout(body: str) -> None:
    for marker in LAYOUT:
        assert marker in body


@pytest.mark.django_db
def test_unknown_page_is_a_styled_404_with_ways_back_and_login() -> None:
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    body = page(response)
    assert_in_layout(body)
    assert "Nothing here" in body
    assert "<code>/no/such/page/</code>" in body
    assert '<a href="/">Overview</a>' in body
    assert '<a href="/alerts/">' in body
    assert '<a href="/accounts/login/">Log in</a>' in body


def test_404_for_a_signed_in_user_shows_the_navigation_and_no_login_link(
    signed_in: Client,
) -> None:
    body = page(signed_in.get("/fleet/no-such-system/nope/"))
    assert 'aria-label="Main"' in body
    assert "carol" in body
    assert "Log in</a>" not in body


def test_404_escapes_the_path() -> None:
    body = page(Client().get("/<script>alert(1)</script>/"))
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;" in body


def test_403_shows_the_views_reason_in_the_layout(signed_in: Client) -> None:
    response = signed_in.get("/forbidden/")
    assert response.status_code == 403
    body = page(response)
    assert_in_layout(body)
    assert "You are not allowed to do this" in body
    assert "Only members of the owning team or staff can change this runbook." in body
    assert '<a href="/">Overview</a>' in body


def test_400_is_styled(signed_in: Client) -> None:
    response = signed_in.get("/malformed/")
    assert response.status_code == 400
    body = page(response)
    assert_in_layout(body)
    assert "could not be understood" in body
    assert '<a href="/">Overview</a>' in body


def test_500_is_styled_and_quotes_the_request_id(signed_in: Client) -> None:
    response = signed_in.get("/boom/", HTTP_X_REQUEST_ID="req-for-the-admin")
    assert response.status_code == 500
    body = page(response)
    assert_in_layout(body)
    assert "Something went wrong on our side" in body
    assert "<code>req-for-the-admin</code>" in body
    assert '<a href="/">Overview</a>' in body
    # Rendered without the request: no user menu even though carol is signed in.
    assert "carol" not in body


def test_500_page_needs_no_database() -> None:
    # No `db` fixture: any query here raises, and the handler would fall back to the bare page.
    response = error_pages.server_error(RequestFactory().get("/alerts/"))
    assert response.status_code == 500
    assert_in_layout(page(response))


def test_500_falls_back_to_a_bare_page_when_the_template_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> str:
        raise ValueError("Missing staticfiles manifest entry for 'steward.css'")

    monkeypatch.setattr(error_pages.loader, "render_to_string", broken)
    response = error_pages.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert '<a href="/">Back to the overview</a>' in page(response)


def test_csrf_failure_is_a_styled_page_that_says_to_reload(db: None) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_user("dave", password="pw-for-tests"))
    response = client.post("/form/", {"x": "1"})
    assert response.status_code == 403
    body = page(response)
    assert_in_layout(body)
    assert "This form has expired" in body
    assert "reload the page" in body
    assert "CSRF cookie not set." in body
    assert '<a href="/">Overview</a>' in body


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "message"),
    [
        ("get", "/api/v1/nowhere/", 404, "not_found", "Not found."),
        (
            "get",
            "/api/v1/forbidden/",
            403,
            "permission_denied",
            "Only members of the owning team or staff can change this runbook.",
        ),
        ("delete", "/api/v1/ownership/", 405, "method_not_allowed", 'Method "DELETE" not allowed.'),
        ("get", "/api/v1/boom/", 500, "server_error", "Internal server error."),
        ("get", "/api/v1/malformed/", 400, "bad_request", "Bad request."),
    ],
)
def test_api_errors_answer_the_json_error_body(
    signed_in: Client, method: str, path: str, status: int, code: str, message: str
) -> None:
    response = getattr(signed_in, method)(path)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": {"code": code, "message": message, "fields": {}}}


def test_api_csrf_failure_answers_json(db: None) -> None:
    response = Client(enforce_csrf_checks=True).post("/api/v1/form/", {"x": "1"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/api/v1/teams/", True), ("/api/docs/", True), ("/apiary/", False), ("/alerts/api/", False)],
)
def test_is_api_request_looks_at_the_path_prefix(path: str, expected: bool) -> None:
    assert is_api_request(RequestFactory().get(path)) is expected
