"""The debounced-evaluation receiver while Redis is down: the delivery goes on, and the outage
is logged once, in one line, not as a traceback per delivery (issue 17, finding 9)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import override_settings

from alerts import tasks
from alerts.signals import episodes_changed
from tests.alerts.noise.conftest import WEEK
from tests.support.processes import free_port

pytestmark = pytest.mark.django_db

# Nothing listens on this port: every cache call is refused, for real.
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}
LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(tasks, "week_evaluate", lambda *, week, trigger="": seen.append(week))
    return seen


def _outage_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "alerts.receivers" and r.levelno >= logging.INFO]


def test_an_outage_is_one_warning_line_and_its_end_one_info_line(
    caplog: pytest.LogCaptureFixture, calls: list[Any]
) -> None:
    caplog.set_level(logging.DEBUG)
    with override_settings(CACHES=UNREACHABLE_REDIS):
        for _ in range(5):
            episodes_changed.send(sender=None, weeks=[WEEK])
    assert calls == []
    (warning,) = _outage_lines(caplog)
    assert warning.levelno == logging.WARNING
    assert warning.exc_info is None  # one line: no traceback
    assert "cache unavailable" in warning.getMessage()
    assert "ConnectionError" in warning.getMessage()

    caplog.clear()
    with override_settings(CACHES=LOCAL):  # Redis is back
        episodes_changed.send(sender=None, weeks=[WEEK])
    assert calls == [WEEK]
    (recovered,) = _outage_lines(caplog)
    assert recovered.levelno == logging.INFO
    assert "cache reachable again" in recovered.getMessage()
    assert "4 failures not logged" in recovered.getMessage()

    caplog.clear()
    with override_settings(CACHES=UNREACHABLE_REDIS):  # a second outage is reported again
        episodes_changed.send(sender=None, weeks=["2026-W46"])
    assert [r.levelno for r in _outage_lines(caplog)] == [logging.WARNING]
