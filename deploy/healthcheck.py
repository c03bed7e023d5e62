"""Container health checks for docker-compose, without curl in the image.

python deploy/healthcheck.py http://127.0.0.1:8000/readyz   # web: ready for traffic
python deploy/healthcheck.py broker                          # beat: can reach the broker
"""

from __future__ import annotations

import os
import sys
import urllib.request


def _http(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 - fixed local URL
        return bool(response.status == 200)


def _broker() -> bool:
    from kombu import Connection

    with Connection(os.environ["CELERY_BROKER_URL"], connect_timeout=3) as connection:
        connection.ensure_connection(max_retries=1, timeout=3)
    return True


def main(target: str) -> int:
    try:
        healthy = _broker() if target == "broker" else _http(target)
    except Exception as error:  # noqa: BLE001 - any failure is "unhealthy"
        print(f"unhealthy: {error}", file=sys.stderr)  # noqa: T201
        return 1
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000/healthz"))
