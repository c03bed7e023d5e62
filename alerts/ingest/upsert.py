"""The one statement that writes a delivery's episodes, portable to SQLite and PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper

from alerts.models import Episode

# Rows per INSERT/SELECT statement: well under SQLite's and PostgreSQL's parameter limits.
CHUNK = 500
_T = TypeVar("_T")
# Field types whose values (str, int or None) the database drivers bind directly.
_AS_IS = frozenset({"CharField", "TextField", "PositiveIntegerField", "ForeignKey"})


_COLUMNS = (
    "rule_id",
    "fingerprint",
    "labels",
    "annotations",
    "starts_at",
    "ends_at",
    "source",
    "system_id",
    "generator_url",
    "first_delivery_id",
    "last_notified_at",
    "notification_count",
    "created_at",
    "updated_at",
)


def episodes_upsert(rows: Sequence[dict[str, object]]) -> None:
    """INSERT … ON CONFLICT (fingerprint, starts_at) DO UPDATE, valid on SQLite and PostgreSQL.

    The conflict branch only moves ends_at from null to a time (or to an earlier time), bumps
    the counters and refreshes the annotations: no statement ever reopens an episode.
    """
    if not rows:
        return
    db = connections[DEFAULT_DB_ALIAS]  # the thread's connection, resolved once
    sql = _statements(DEFAULT_DB_ALIAS)
    fields = _fields()
    prepare = [_preparer(f, db) for f in fields]
    with bound_cursor(db) as cursor:
        for chunk in chunks(rows):
            by_column = [
                [row[name] if prep is None else prep(row[name]) for row in chunk]
                for name, prep in zip(_COLUMNS, prepare, strict=True)
            ]
            if db.vendor == "postgresql":
                source, params = sql.unnest, by_column
            else:
                source = "VALUES " + ", ".join([sql.values_row] * len(chunk))
                params = [value for row in zip(*by_column, strict=True) for value in row]
            cursor.execute(sql.insert + source + sql.conflict, params)


def bound_cursor(db: BaseDatabaseWrapper) -> Any:
    """Django's cursor, except on PostgreSQL: a server-side-binding psycopg cursor, wrapped as
    Django wraps its own (query log, database errors as django.db exceptions).

    Django's psycopg cursors bind client-side: every array element of the upsert (and the
    delivery's whole raw body) was quoted into the SQL text, the largest CPU cost of those
    statements, and PostgreSQL parsed and planned a new text each time. Bound server-side, the
    values travel as parameters and psycopg prepares the statement after a few executions."""
    if db.vendor != "postgresql":
        return db.cursor()
    import psycopg

    db.ensure_connection()
    db.validate_thread_sharing()
    raw = psycopg.Cursor(db.connection)
    from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

    return CursorDebugWrapper(raw, db) if db.queries_logged else CursorWrapper(raw, db)


@dataclass(frozen=True, slots=True)
class _Statements:
    insert: str
    values_row: str
    unnest: str
    conflict: str


def _fields() -> list[models.Field[Any, Any]]:
    return [cast("models.Field[Any, Any]", Episode._meta.get_field(name)) for name in _COLUMNS]


@functools.cache
def _statements(alias: str) -> _Statements:
    """The SQL text, built once per database: it only depends on the backend."""
    db = connections[alias]
    qn = db.ops.quote_name
    table = qn(Episode._meta.db_table)
    fields = _fields()
    ends = f"{table}.{qn('ends_at')}"
    # PostgreSQL gets one array per column: a short statement that psycopg parses once and
    # caches, where VALUES lists of 700 placeholders were re-scanned on every delivery
    # (~1 ms of CPU per 50 alerts). SQLite has no unnest and keeps VALUES.
    arrays = ", ".join(f"%s::{f.db_type(db)}[]" for f in fields)
    return _Statements(
        insert=f"INSERT INTO {table} ({', '.join(qn(f.column) for f in fields)}) ",  # noqa: S608
        values_row="(" + ", ".join(["%s"] * len(fields)) + ")",
        unnest=f"SELECT * FROM unnest({arrays})",  # noqa: S608 (column types from the model)
        conflict=(
            f" ON CONFLICT ({qn('fingerprint')}, {qn('starts_at')}) DO UPDATE SET "
            f"{qn('ends_at')} = CASE WHEN {ends} IS NULL THEN excluded.{qn('ends_at')} "
            f"WHEN excluded.{qn('ends_at')} IS NOT NULL AND excluded.{qn('ends_at')} < {ends} "
            f"THEN excluded.{qn('ends_at')} ELSE {ends} END, "
            f"{qn('annotations')} = excluded.{qn('annotations')}, "
            f"{qn('notification_count')} = {table}.{qn('notification_count')} + 1, "
            f"{qn('last_notified_at')} = excluded.{qn('last_notified_at')}, "
            f"{qn('updated_at')} = excluded.{qn('updated_at')}"
        ),
    )


def _preparer(
    field: models.Field[Any, Any], db: BaseDatabaseWrapper
) -> Callable[[Any], Any] | None:
    """How to turn a row value into a query parameter; None when the driver takes it as is.

    Strings and integers (text columns, counters, foreign-key ids) need no preparation; the
    per-value `get_db_prep_save` chain was the largest CPU cost of a 50-alert delivery.
    JSON and datetimes still go through the field, which knows what each database needs.
    """
    if field.get_internal_type() in _AS_IS:
        return None
    return functools.partial(field.get_db_prep_save, connection=db)


def chunks(items: Sequence[_T]) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
