"""Readiness checks: database, applied migrations and broker, each bounded in time."""

from __future__ import annotations

import logging
import math
import threading
import time

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor

logger = logging.getLogger(__name__)

SKIPPED = "skipped"

# (checked_at monotonic, all applied); only a positive answer is remembered, so that a
# probe notices the moment a pending migration has been applied.
_migrations_ok_at: float | None = None
_lock = threading.Lock()


def database_check() -> str | None:
    """None when the database answers `SELECT 1`, else the error in one line."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return f"database unreachable: {error}".strip()
    return None


def migrations_check() -> str | None:
    """None when no migration is pending; the answer is cached briefly when positive."""
    global _migrations_ok_at
    ttl = settings.STEWARD_READYZ_MIGRATIONS_CACHE_SECONDS
    with _lock:
        if _migrations_ok_at is not None and time.monotonic() - _migrations_ok_at < ttl:
            return None
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return f"cannot read migrations: {error}".strip()
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        return f"{len(plan)} migration(s) not applied: {names}"
    with _lock:
        _migrations_ok_at = time.monotonic()
    return None


def migrations_cache_clear() -> None:
    global _migrations_ok_at
    with _lock:
        _migrations_ok_at = None


def broker_check() -> str | None:
    """None when CELERY_BROKER_URL is unset (tasks run in-process) or the broker answers."""
    url: str = settings.CELERY_BROKER_URL
    if not url:
        return None
    from kombu import Connection

    timeout = settings.STEWARD_READYZ_TIMEOUT_SECONDS
    try:
        with Connection(
            url,
            connect_timeout=timeout,
            transport_options={"socket_timeout": timeout, "socket_connect_timeout": timeout},
        ) as connection:
            connection.ensure_connection(max_retries=1, timeout=math.ceil(timeout))
    except Exception as error:  # noqa: BLE001 - any failure means "not ready", reported as text
        return f"broker unreachable: {type(error).__name__}: {error}".strip()
    return None


def checks_run() -> dict[str, str | None]:
    """Each check's error, None when it passed; failures are logged with their details."""
    database = database_check()
    checks = {
        "database": database,
        # Without a database the migration state cannot be read; say so once.
        "migrations": migrations_check() if database is None else SKIPPED,
        "broker": broker_check(),
    }
    for name, error in checks.items():
        if error not in (None, SKIPPED):
            logger.warning("readiness: %s check failed: %s", name, error)
    return checks


def check_detail(error: str | None) -> str:
    return error or "ok"


def check_summary(error: str | None) -> str:
    """What anyone may see of a check: ok, skipped or failing, never the error text."""
    if error is None:
        return "ok"
    return SKIPPED if error == SKIPPED else "failing"
