"""Worker recycling under keep-alive load loses no request (issue 17, finding 7).

The real gunicorn with deploy/gunicorn.conf.py, 2 workers recycled every 30–60 requests, and 8
clients each reusing one keep-alive connection for 1,000 requests in all (no client retries).
Gunicorn's own gthread worker dropped about one request per recycle here (connections it had
accepted or kept alive, closed without an answer); ops.gunicorn_worker drains them first.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.conftest import Gunicorn
from tests.support.load import keepalive_load
from tests.support.processes import free_port

pytestmark = [pytest.mark.timeout(120)]

PORT = free_port()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Gunicorn]:
    env = {
        # /healthz touches no database: the test measures the server alone.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "GUNICORN_MAX_REQUESTS": "30",
        "GUNICORN_MAX_REQUESTS_JITTER": "30",
    }
    server = Gunicorn(env, tmp_path / "gunicorn.log", port=PORT)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_recycling_workers_under_keepalive_load_drops_no_request(web: Gunicorn) -> None:
    result = keepalive_load(f"{web.base}/healthz", requests=1000, concurrency=8)

    # This worker's line, or gunicorn's own (under GUNICORN_CMD_ARGS="--worker-class gthread").
    recycles = web.log().count("Recycling worker after") + web.log().count("Autorestarting")
    assert recycles >= 5, web.log()[-3000:]  # the load did make workers recycle
    assert result.sent == 1000
    assert (result.dropped, result.errors) == (0, {}), f"over {recycles} recycles"
