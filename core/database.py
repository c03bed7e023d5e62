"""What "the database is unavailable" means, for every caller that answers it with a retry.

Django raises OperationalError when it cannot connect or the server ends the session (restart,
failover, pg_terminate_backend) and InterfaceError when a connection it held is already closed.
Both are transient from the caller's point of view: the answer is "retry later" (a 503 with
Retry-After, a task retried with backoff), never a 500 or a failure that sticks.
"""

from __future__ import annotations

from django.db import InterfaceError, OperationalError

DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)

# Seconds a client is told to wait (Retry-After) while the database is unavailable.
RETRY_AFTER_SECONDS = 5


def is_database_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, DATABASE_UNAVAILABLE)
