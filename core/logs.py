"""Logging: JSON lines with the request id of the request (or Celery task) being served.

`LOG_FORMAT=json` (the default when DEBUG is off) writes one JSON object per line, ready for
Loki or ELK; `LOG_FORMAT=text` (the default with DEBUG on) writes readable lines. Either way
every record carries `request_id`, taken from a context variable that the request-id
middleware sets for a request and the Celery signal handlers set for a task.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str] = ContextVar("steward_request_id", default="-")

# An incoming X-Request-ID is reused only when it looks like an id, so that a client cannot
# inject newlines or megabytes into every log line.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Attributes every LogRecord has; anything else was passed with `extra=` and is kept.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()) | {
    "message",
    "asctime",
    "request_id",
}


def clean_request_id(value: str | None) -> str | None:
    if value and _VALID_REQUEST_ID.match(value):
        return value
    return None


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id` (or "-" outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        for key, value in record.__dict__.items():
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


def logging_config(*, log_format: str, level: str) -> dict[str, Any]:
    """The LOGGING dict for settings; `log_format` is "json" or "text"."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "core.logs.RequestIdFilter"},
            "database_unavailable": {"()": "core.database.DatabaseUnavailableLogFilter"},
        },
        "formatters": {
            "json": {"()": "core.logs.JsonFormatter"},
            "text": {
                "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's request logger repeats what the request log line already says.
        "loggers": {
            "django.server": {"level": "WARNING"},
            "django.request": {"filters": ["database_unavailable"]},
            # One "BEGIN" line per process start; lockouts are logged at WARNING anyway.
            "axes.apps": {"level": "WARNING"},
        },
    }
