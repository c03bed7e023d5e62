"""A keep-alive HTTP load for worker-recycling tests: what a busy client sees while gunicorn
restarts its workers under it (issue 17, finding 7).

Each of `concurrency` threads keeps one connection open (httpx, HTTP/1.1 keep-alive) and sends
its share of `requests` GETs one after another, with no retry: a request counts as dropped when
the connection fails (reset, closed without an answer) or the answer is not 200.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import httpx


@dataclass
class LoadResult:
    sent: int = 0
    answered: int = 0
    dropped: int = 0
    errors: dict[str, int] = field(default_factory=dict)


def keepalive_load(url: str, *, requests: int, concurrency: int) -> LoadResult:
    result = LoadResult()
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not one log line per request
    lock = threading.Lock()

    def client(share: int) -> None:
        # No transport retries: a request lost to a closing connection must show up here.
        with httpx.Client(timeout=20, transport=httpx.HTTPTransport(retries=0)) as session:
            for _ in range(share):
                try:
                    ok = session.get(url).status_code == 200
                    error = None if ok else "status"
                except httpx.HTTPError as problem:
                    error = type(problem).__name__
                with lock:
                    result.sent += 1
                    if error is None:
                        result.answered += 1
                    else:
                        result.dropped += 1
                        result.errors[error] = result.errors.get(error, 0) + 1

    shares = [requests // concurrency + (i < requests % concurrency) for i in range(concurrency)]
    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result
