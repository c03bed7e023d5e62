"""A lock so that two evaluations of the same week never overlap, across processes and hosts,
and the claim that makes a scheduled request of a week run once (`AlreadyEvaluated`).

On PostgreSQL it is a session-level advisory lock keyed by the week: held by the database
connection, visible to every worker on every machine, and released by PostgreSQL itself when the
holder's connection ends — so a worker killed with SIGKILL cannot leave it behind (a Redis lock
would need a TTL longer than the slowest evaluation, and would then block redelivery for that
long). On SQLite (the embedded, single-host default) writers are serialised by the database
file anyway and each evaluation writes in one transaction, so there is nothing to lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from core.weeks import parse_week

# First key of the two-int advisory lock: "steward evaluation", so other users of advisory
# locks in the same database cannot collide with ours.
_LOCK_CLASS = 0x5E7A


class EvaluationBusy(Exception):
    """Another evaluation of this week is running right now."""


class AlreadyEvaluated(Exception):
    """The week was already evaluated (or is being evaluated) for this trigger: a scheduled
    request that two beats sent, or that two workers received, is carried out once. The claim
    is the `evaluation_once_per_trigger` unique constraint on Evaluation(week, trigger)."""


@contextmanager
def week_lock(week: str) -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    year, number = parse_week(week)
    key = year * 100 + number
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_CLASS, key])
        (acquired,) = cursor.fetchone() or (False,)
    if not acquired:
        raise EvaluationBusy(f"An evaluation of {week} is already running.")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_CLASS, key])
