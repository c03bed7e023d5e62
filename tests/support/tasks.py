"""Tasks that exist only for tests (loaded by a test worker with --include)."""

from __future__ import annotations

import logging

from config.celery import app
from core.logs import request_id_var

logger = logging.getLogger("steward.test_tasks")


@app.task(name="steward.test_echo_request_id")
def echo_request_id(marker: str) -> str:
    logger.info(
        "echo %s", marker, extra={"marker": marker, "seen_request_id": request_id_var.get()}
    )
    return request_id_var.get()
