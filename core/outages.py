"""Log a dependency's outage once, not once per request.

While Redis (the cache or the broker) is down, every delivery fails to reach it the same way; a
traceback per delivery buries everything else in the log. An `OutageLog` writes one warning
line at the first failure (the error's type and text, no traceback), counts the failures that
follow at DEBUG, and writes one info line when a call succeeds again. State is per process.
"""

from __future__ import annotations

import logging
import threading
from typing import Any


class OutageLog:
    def __init__(self, what: str) -> None:
        self.what = what
        self._lock = threading.Lock()
        self._failures = 0

    def failure(
        self, logger: logging.Logger, message: str, *args: Any, error: BaseException
    ) -> None:
        """Log `message % args` with the error, as a warning if this failure starts an outage."""
        with self._lock:
            self._failures += 1
            first = self._failures == 1
        level = logging.WARNING if first else logging.DEBUG
        suffix = (
            "" if not first else f"; further {self.what} failures are not logged until it returns"
        )
        logger.log(level, f"{message} (%s: %s){suffix}", *args, type(error).__name__, error)

    def success(self, logger: logging.Logger) -> None:
        """A call went through: if an outage was running, say it ended."""
        if not self._failures:  # the common case, without taking the lock
            return
        with self._lock:
            failures, self._failures = self._failures, 0
        if failures:
            logger.info("%s reachable again (%d failures not logged)", self.what, failures - 1)


# Shared by every caller of the Django cache and of the Celery broker in this process.
CACHE_OUTAGE = OutageLog("cache")
BROKER_OUTAGE = OutageLog("broker")
