from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from core.logs import JsonFormatter, RequestIdFilter, request_id_var


def _format(record: logging.LogRecord) -> dict[str, object]:
    RequestIdFilter().filter(record)
    return json.loads(JsonFormatter().format(record))  # type: ignore[no-any-return]


def test_json_line_carries_request_id_extras_and_exception() -> None:
    token = request_id_var.set("req-123")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            import sys

            record = logging.LogRecord(
                "steward.test", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info()
            )
        record.week = "2026-W47"
        line = _format(record)
    finally:
        request_id_var.reset(token)
    assert line["message"] == "failed x"
    assert line["level"] == "ERROR"
    assert line["logger"] == "steward.test"
    assert line["request_id"] == "req-123"
    assert line["week"] == "2026-W47"
    assert "ValueError: boom" in str(line["exc_info"])


def test_outside_a_request_the_request_id_is_a_dash() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    assert _format(record)["request_id"] == "-"


def test_response_echoes_a_sane_incoming_request_id(client: Client) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123.def")
    assert response["X-Request-ID"] == "abc-123.def"


def test_an_unsafe_request_id_is_replaced(client: Client) -> None:
    response = client.get("/healthz", HTTP_X_REQUEST_ID="evil\nid " + "x" * 300)
    assert response["X-Request-ID"] != "evil"
    assert len(response["X-Request-ID"]) == 32


def test_every_log_line_of_a_request_has_its_id(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.INFO, logger="steward.request"):
        client.get("/healthz", HTTP_X_REQUEST_ID="trace-me-42")
    lines = [r for r in caplog.records if r.name == "steward.request"]
    assert lines, "the request log line is missing"
    assert all(getattr(r, "request_id", None) == "trace-me-42" for r in lines)
    assert lines[0].status == 200  # type: ignore[attr-defined]
    assert request_id_var.get() == "-"


@pytest.mark.parametrize(
    ("env", "json_expected"),
    [
        ({"DEBUG": "0"}, True),
        ({"DEBUG": "1"}, False),
        ({"DEBUG": "1", "LOG_FORMAT": "json"}, True),
        ({"DEBUG": "0", "LOG_FORMAT": "text"}, False),
    ],
)
def test_log_format_follows_debug_unless_set(env: dict[str, str], json_expected: bool) -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    environment = {
        **{k: v for k, v in os.environ.items() if k not in {"LOG_FORMAT", "DEBUG"}},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "x" * 60,
        **env,
    }
    code = "import logging; logging.getLogger('steward.probe').warning('probe line')"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = next(x for x in result.stderr.splitlines() if "probe line" in x)
    if json_expected:
        assert json.loads(line)["logger"] == "steward.probe"
    else:
        assert line.endswith("WARNING steward.probe [-] probe line")
