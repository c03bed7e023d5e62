"""Fault: the database is unreachable (stopped, failed over, a network partition).

gunicorn runs with DATABASE_URL on a PostgreSQL port nobody listens on, so every connection
attempt is refused. Whatever needed the database answers 503 with Retry-After: the site's error
page for people, the API's JSON error body for clients, the webhook's own 503 (issue 17, finding
9: pages and the catalog API answered 500). Needs no service, so it runs in both lanes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.faults.conftest import Gunicorn
from tests.support.processes import free_ports

pytestmark = [pytest.mark.timeout(60)]

PORT, CLOSED_DATABASE_PORT = free_ports(2)  # nothing listens on the second


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    log = tmp_path_factory.mktemp("database-down") / "gunicorn.log"
    url = f"postgres://steward@127.0.0.1:{CLOSED_DATABASE_PORT}/steward"
    server = Gunicorn(
        {"DATABASE_URL": url, "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2"}, log, port=PORT
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.parametrize("path", ["/", "/alerts/", "/review/", "/runbooks/", "/fleet/"])
def test_a_signed_in_page_answers_503_with_the_error_page(web: Gunicorn, path: str) -> None:
    # The session cookie makes the page read its session (and user) from the database.
    status, headers, body = _get(web.base + path, Cookie="sessionid=" + "s" * 32)
    assert status == 503, (body[:500], web.log()[-3000:])
    assert headers["Retry-After"] == "5"
    assert headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert "Error 503" in page
    assert "database" in page.lower()
    assert "Traceback" not in page


@pytest.mark.parametrize(
    "path", ["/api/v1/alert-rules/", "/api/v1/systems/", "/api/v1/ownership/?alertname=X"]
)
def test_the_api_answers_503_with_its_json_error_body(web: Gunicorn, path: str) -> None:
    status, headers, body = _get(web.base + path, Authorization="Bearer stw_" + "x" * 40)
    assert status == 503, (body[:500], web.log()[-3000:])
    assert headers["Retry-After"] == "5"
    error = json.loads(body)["error"]
    assert error["code"] == "database_unavailable"
    assert error["fields"] == {}


def test_each_refused_request_is_one_warning_line_without_a_traceback(web: Gunicorn) -> None:
    before = web.log()
    status, _, _ = _get(web.base + "/alerts/", Cookie="sessionid=" + "t" * 32)
    assert status == 503
    new = web.log()[len(before) :]
    assert new.count("database unavailable") == 1, new
    assert "Traceback" not in new and "exc_info" not in new, new
