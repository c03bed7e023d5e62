"""No secret in a log line: the filter LOGGING puts on every handler, and real flows through it."""

from __future__ import annotations

import io
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from wsgiref.simple_server import make_server

import pytest
from django.contrib.auth.models import User
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.core.wsgi import get_wsgi_application
from django.test import Client

from core.logs import logging_config, redact
from tests.support.processes import free_port, serve_then_close
from tokens.services import token_create

PORT = free_port()  # Django's development server for the request-line test

SLACK = "https://hooks.slack.com/services/T000/B000/TESTSECRETslack"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer stw_abcdefTESTSECRETtoken123", "TESTSECRETtoken123"),
        ("token stw_abcdefTESTSECRETtoken123 rejected", "TESTSECRETtoken123"),
        ("Authorization: Basic dXNlcjpURVNUU0VDUkVU", "dXNlcjpURVNUU0VDUkVU"),
        (f"posting to {SLACK} failed", "TESTSECRETslack"),
        ("https://discord.com/api/webhooks/123/TESTSECRETdiscord", "TESTSECRETdiscord"),
        ("https://acme.webhook.office.com/webhookb2/TESTSECRETteams", "TESTSECRETteams"),
        ("redis://default:TESTSECRETpw@redis:6379/0", "TESTSECRETpw"),
        ("GET /api/v1/ownership/?alertname=X&token=TESTSECRETq HTTP/1.1", "TESTSECRETq"),
        ("/x?access_token=TESTSECRETa&b=1", "TESTSECRETa"),
        ("/x?api_key=TESTSECRETk", "TESTSECRETk"),
        ("/x?password=TESTSECRETp", "TESTSECRETp"),
        ("/x?secret=TESTSECRETs", "TESTSECRETs"),
        ("/x?X-Amz-Signature=TESTSECRETsig", "TESTSECRETsig"),
        ("https://chat.googleapis.com/v1/spaces/A/messages?key=TESTSECRETkey", "TESTSECRETkey"),
    ],
)
def test_redact_masks_each_kind_of_secret(text: str, secret: str) -> None:
    masked = redact(text)
    assert secret not in masked
    assert "[redacted]" in masked


def test_redact_keeps_ordinary_lines_and_the_public_token_prefix() -> None:
    line = "GET /api/v1/teams/ 200 for token:stw_abc123"
    assert redact(line) == line
    assert redact("stw_abc123TESTSECRETrest").startswith("stw_abc123")


@pytest.fixture
def configured_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger with exactly the handler LOGGING builds (json format), writing to a buffer."""
    import logging.config

    config = logging_config(log_format="json", level="DEBUG")
    config["handlers"]["console"]["stream"] = io.StringIO()
    config["root"] = {"handlers": []}
    config["loggers"] = {"steward.redaction-test": {"handlers": ["console"], "level": "DEBUG"}}
    config["disable_existing_loggers"] = False
    previous = logging.getLogger().handlers[:]
    logging.config.dictConfig(config)
    logger = logging.getLogger("steward.redaction-test")
    logger.propagate = False
    stream = logger.handlers[0].stream  # type: ignore[attr-defined]
    try:
        yield logger, stream
    finally:
        logger.handlers.clear()
        logging.getLogger().handlers[:] = previous


def test_secrets_in_message_args_extras_and_exceptions_are_masked(
    configured_logger: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = configured_logger
    logger.warning("post to %s failed", SLACK, extra={"url": SLACK})
    try:
        raise ConnectionError(f"cannot reach {SLACK}")
    except ConnectionError:
        logger.exception("chat post failed")
    written = stream.getvalue()
    assert "TESTSECRETslack" not in written
    assert "hooks.slack.com/services/[redacted]" in written
    assert "ConnectionError" in written


def _serve_with_runserver(requests: list[tuple[str, dict[str, str]]]) -> None:
    """Send `requests` to Django's development server (what `make demo` runs), which logs each
    request line after answering; return once every line is written."""
    server = make_server("127.0.0.1", PORT, get_wsgi_application(), WSGIServer, WSGIRequestHandler)
    # The thread's own database connection (the token lookup) is closed when it stops.
    thread = threading.Thread(target=serve_then_close, args=(server,), daemon=True)
    thread.start()
    try:
        for url, headers in requests:
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 - local server
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=5)  # noqa: S310 - local test server
    finally:
        server.shutdown()  # returns after the request being handled has been logged
        server.server_close()
        thread.join(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_a_token_in_the_query_string_or_a_failed_auth_is_not_logged(
    console_log: io.StringIO, capfd: pytest.CaptureFixture[str]
) -> None:
    staff = User.objects.create_user("log-staff", is_staff=True)
    _, raw = token_create(name="query", scope="read", created_by=staff)
    base = f"http://127.0.0.1:{PORT}/api/v1/ownership/?alertname=X"
    _serve_with_runserver(
        [
            (f"{base}&token={raw}", {}),
            (base, {"Authorization": f"Bearer {raw}TESTSECRETwrong"}),
        ]
    )
    # Whatever reached a handler, ours or logging's last resort on stderr.
    written = console_log.getvalue() + capfd.readouterr().err
    assert "alertname=X&token=" in written
    assert "/api/v1/ownership/" in written  # the lines were written, without the secrets
    assert raw[10:] not in written
    assert "TESTSECRETwrong" not in written


@pytest.mark.django_db
def test_the_request_log_line_has_no_query_credentials(
    client: Client, console_log: io.StringIO
) -> None:
    client.get("/api/v1/ownership/?alertname=X&api_key=TESTSECRETkey")
    written = console_log.getvalue()
    assert "/api/v1/ownership/" in written
    assert "TESTSECRETkey" not in written
