"""A gthread worker whose `max_requests` restart drains its connections instead of dropping them.

Gunicorn's own gthread worker, on reaching `max_requests`, leaves its loop at once: connections
it had accepted but not read yet, and keep-alive connections a client was just reusing, are
closed without an answer (issue 17: 19 of 2,000 keep-alive requests lost over 12 recycles).
This worker instead, once its quota is reached:

1. answers every further request with `Connection: close` (no connection is kept alive);
2. stops accepting: it closes its copy of the listening sockets, so new connections wait in the
   kernel's queue for the other workers or this worker's replacement (the master holds them);
3. keeps serving what it already holds (in-flight requests, accepted connections, keep-alive
   connections a client reuses) and lets idle ones expire after `keepalive` seconds, as always;
4. exits when it holds no connection, or after `keepalive + graceful_timeout` seconds at most.

It relies on ThreadWorker internals of gunicorn 23 (pinned `<24` in pyproject.toml);
tests/deploy/test_gunicorn_recycling.py proves the zero loss against the real server.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.workers.gthread import ThreadWorker


class DrainingThreadWorker(ThreadWorker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The base class picked max_requests + jitter; keep it, and never let the base class
        # act on it (it would stop the loop at once).
        self.recycle_after: int = self.max_requests  # type: ignore[has-type]
        self.max_requests = sys.maxsize
        self.drain_deadline: float | None = None
        self._drain_lock = threading.Lock()
        self._listening = True

    def handle_request(self, req: Any, conn: Any) -> Any:
        if self.nr + 1 >= self.recycle_after:
            self._start_draining()
        return super().handle_request(req, conn)

    def _start_draining(self) -> None:
        with self._drain_lock:
            if self.drain_deadline is not None:
                return
            # The base class closes a connection after its answer once this many are kept
            # alive: with 0, every answer from now on says `Connection: close`.
            self.max_keepalived = 0
            self.drain_deadline = time.monotonic() + self.cfg.keepalive + self.cfg.graceful_timeout
        self.log.info("Recycling worker after %s requests: draining connections", self.nr + 1)

    def murder_keepalived(self) -> None:
        """Called by the main loop on every turn: also the place to stop listening and exit."""
        super().murder_keepalived()
        if self.drain_deadline is None:
            return
        if self._listening:
            with self._lock:
                for sock in self.sockets:
                    self.poller.unregister(sock)
                    sock.close()
            self._listening = False
        if self.nr_conns <= 0 or time.monotonic() > self.drain_deadline:
            self.alive = False


class NoGunicornAccessLogger(Logger):
    """Gunicorn's logger without gunicorn's access line.

    Steward writes the access line itself (JSON, with the request id: config.middleware), and
    deploy/gunicorn.conf.py sets `gunicorn.access` to WARNING, so gunicorn's line was never
    written; but since a logging configuration is set, gunicorn still built it (every atom of
    the request and response) before the logger dropped it: ~4 % of a one-alert webhook's CPU
    (issue 18's profile). Errors and gunicorn's own messages are logged as before."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None
