"""Logging: JSON lines with the request id of the request (or Celery task) being served.

`LOG_FORMAT=json` (the default when DEBUG is off) writes one JSON object per line, ready for
Loki or ELK; `LOG_FORMAT=text` (the default with DEBUG on) writes readable lines. Either way
every record carries `request_id`, taken from a context variable that the request-id
middleware sets for a request and the Celery signal handlers set for a task.

No secret in a log line: `RedactSecretsFilter`, on every handler, masks API tokens, bearer and
basic credentials, URL userinfo, the secret part of chat webhook URLs and credentials in query
strings, in the message, its arguments, `extra=` values and exception text.
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


_MASK = "[redacted]"
# (pattern, replacement); `tokens.services.TOKEN_PREFIX` is "stw_" and the first six characters
# after it are the token's public prefix (shown in the admin), kept so a line stays traceable.
_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(stw_[A-Za-z0-9_-]{6})[A-Za-z0-9_-]+"), rf"\1{_MASK}"),
    (re.compile(r"\b(Bearer|Basic|bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\1\2{_MASK}"),
    # userinfo of any URL: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:'\"]+(:[^/\s@'\"]*)?@"), rf"\1{_MASK}@"),
    # The path of an incoming-webhook URL is its secret: Slack (/services/), Discord and most
    # others (/webhook/, /webhooks/, /hooks/), Microsoft Teams (/webhookb2/, /workflows/).
    (
        re.compile(r"(?i)(/(?:services|webhooks?|webhookb2|hooks|workflows)/)[^\s'\"<>]+"),
        rf"\1{_MASK}",
    ),
    # Credentials in query strings and form bodies.
    (
        re.compile(
            r"(?i)(?<![a-z0-9_])((?:access_|refresh_|auth_|api_|id_)?token|api_?key|key|"
            r"password|passwd|secret|client_secret|signature|sig|auth)=[^&\s'\"]+"
        ),
        rf"\1={_MASK}",
    ),
)


def redact(text: str) -> str:
    """`text` with every secret the patterns above recognise replaced by "[redacted]"."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecretsFilter(logging.Filter):
    """Masks secrets in the record before any formatter sees it.

    The message is rendered once (`getMessage()`), redacted and stored without its arguments;
    exception and stack text are rendered and redacted into `exc_text`/`stack_info`, which
    formatters use as they are; string `extra=` values are redacted too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, redact(value))
        setattr(record, "_redacted", True)  # noqa: B010 (not a LogRecord attribute)
        return True


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
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc_info"] = record.exc_text
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
            "redact_secrets": {"()": "core.logs.RedactSecretsFilter"},
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
                # Every handler gets redact_secrets: no secret in a log line.
                "filters": ["request_id", "redact_secrets"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's request logger repeats what the request log line already says.
        "loggers": {
            # Django's own config gives the development server's request lines no handler
            # (they fell to logging's last resort, unfiltered); they go through ours instead.
            "django.server": {"level": "WARNING", "handlers": ["console"], "propagate": False},
            # urllib3's DEBUG lines carry request paths, which for a chat webhook are the
            # secret; LOG_LEVEL=DEBUG must not turn them on.
            "urllib3": {"level": "INFO"},
            "django.request": {"filters": ["database_unavailable"]},
            # One "BEGIN" line per process start; lockouts are logged at WARNING anyway.
            "axes.apps": {"level": "WARNING"},
        },
    }
