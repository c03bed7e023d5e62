"""What "the database is unavailable" means, for every caller that answers it with a retry.

Django raises OperationalError when it cannot connect or the server ends the session (restart,
failover, pg_terminate_backend) and InterfaceError when a connection it held is already closed.
Both are transient from the caller's point of view: the answer is "retry later" (a 503 with
Retry-After, a task retried with backoff), never a 500 or a failure that sticks.
"""

from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

# Seconds a client is told to wait (Retry-After) while the database is unavailable.
RETRY_AFTER_SECONDS = 5


def is_database_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, DATABASE_UNAVAILABLE)


class DatabaseUnavailableLogFilter(logging.Filter):
    """Drops Django's "Internal Server Error" traceback for a request refused because the
    database is unavailable: the refusal logs its own one-line warning, and an outage would
    otherwise write a full traceback per request."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not is_database_unavailable(error)
