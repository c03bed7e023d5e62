"""The one statement that writes a delivery's episodes, portable to SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

from alerts.models import AlertRule, Delivery, Episode

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


# Delivery columns the PostgreSQL statement computes itself from the stored episodes.
_COUNTS = ("opened_count", "updated_count", "closed_count", "duplicate_count")


@dataclass(frozen=True, slots=True)
class Written:
    """What `delivery_write` stored: the delivery's id, and the end (None while firing) of every
    episode that existed before, by (fingerprint, starts_at)."""

    delivery_id: int
    existing: dict[tuple[Any, Any], Any]


def delivery_write(
    delivery: Delivery,
    rows: Sequence[dict[str, object]],
    touches: Sequence[tuple[int, object]],
) -> Written:
    """PostgreSQL: the delivery row, its episodes' upsert and the rules' `last_fired_at`, in ONE
    statement (so one round trip, and one transaction of its own when none is open).

    The statement reads the episodes that exist for the rows (in the snapshot taken before any
    of its writes), counts what the delivery does to them into the delivery row (the same
    classification as `alerts.ingest.services._classify`, which the caller applies to the
    returned rows for its answer), inserts the delivery, upserts the episodes with their
    `first_delivery` and moves each touched rule's `last_fired_at` forward, never backwards,
    locking the rules in id order. `touches` is (rule id, latest start) per rule.

    The rows and the touches travel as two JSON documents (`jsonb_to_recordset`, typed by the
    model's columns): one C-encoded string each, where a typed array per column cost psycopg
    more CPU than the rest of the statement's preparation (issue 18's profile)."""
    db = connections[DEFAULT_DB_ALIAS]
    sql, delivery_fields = _write_statement(DEFAULT_DB_ALIAS)
    values = [f.get_db_prep_save(f.pre_save(delivery, add=True), db) for f in delivery_fields]
    documents = [
        _json([{name: row[name] for name in _ROW_COLUMNS} for row in rows]),
        _json([{"id": pk, "fired": at} for pk, at in touches]),
    ]
    existing: dict[tuple[Any, Any], Any] = {}
    delivery_id = None
    with bound_cursor(db, prepare=True) as cursor:
        cursor.execute(sql, [documents[0], *values, documents[1]])
        for pk, fingerprint, starts_at, ends_at in cursor.fetchall():
            if pk is not None:
                delivery_id = pk
            else:
                existing[fingerprint, starts_at] = ends_at
    if delivery_id is None:  # pragma: no cover (an INSERT … RETURNING always returns its row)
        raise RuntimeError("the delivery INSERT returned no id")
    return Written(delivery_id=delivery_id, existing=existing)


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()  # aware (USE_TZ): the offset is kept
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_json = functools.partial(json.dumps, default=_iso, separators=(",", ":"))


# The episode columns given per row: `first_delivery_id` is the delivery the statement inserts.
_ROW_COLUMNS = tuple(c for c in _COLUMNS if c != "first_delivery_id")


@functools.cache
def _write_statement(alias: str) -> tuple[str, list[models.Field[Any, Any]]]:
    """The text of `delivery_write`'s statement (PostgreSQL only), built once from the models."""
    db = connections[alias]
    fields = [f for f in _fields() if f.column in _ROW_COLUMNS]
    delivery_fields = [
        f for f in Delivery._meta.concrete_fields if not f.primary_key and f.column not in _COUNTS
    ]
    # Text for text columns: an explicit cast to varchar(n) would truncate, an assignment raises.
    text = {"CharField", "TextField"}
    values = ", ".join(
        "%s::text" if f.get_internal_type() in text else f"%s::{f.db_type(db)}"
        for f in delivery_fields
    )
    sql = f"""
WITH ev AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb)
        AS ev ({", ".join(f"{f.column} {f.db_type(db)}" for f in fields)})
),
old (fp, st, en) AS (
    SELECT e.fingerprint, e.starts_at, e.ends_at FROM {Episode._meta.db_table} e
    JOIN ev ON e.fingerprint = ev.fingerprint AND e.starts_at = ev.starts_at
),
kinds (kind, ends) AS (  -- the classification of alerts.ingest.services._classify
    SELECT CASE WHEN o.fp IS NULL THEN 'opened'
        WHEN o.en IS NULL AND ev.ends_at IS NOT NULL THEN 'closed'
        WHEN o.en IS NOT NULL AND ev.ends_at IS NOT NULL AND ev.ends_at < o.en THEN 'updated'
        ELSE 'duplicate' END, ev.ends_at
    FROM ev LEFT JOIN old o ON o.fp = ev.fingerprint AND o.st = ev.starts_at
),
d AS (
    INSERT INTO {Delivery._meta.db_table} ({", ".join(f.column for f in delivery_fields)},
        {", ".join(_COUNTS)})
    SELECT {values},
        count(*) FILTER (WHERE kind = 'opened'),
        count(*) FILTER (WHERE kind = 'updated'),
        count(*) FILTER (WHERE kind = 'closed' OR (kind = 'opened' AND ends IS NOT NULL)),
        count(*) FILTER (WHERE kind = 'duplicate')
    FROM kinds
    RETURNING id
),
up AS (
    INSERT INTO {Episode._meta.db_table} ({", ".join(f.column for f in fields)}, first_delivery_id)
    SELECT ev.*, d.id FROM ev, d
    {_statements(alias).conflict}
),
touch AS (
    UPDATE {AlertRule._meta.db_table} r SET last_fired_at = t.fired
    FROM (
        SELECT r2.id, x.fired FROM {AlertRule._meta.db_table} r2
        JOIN jsonb_to_recordset(%s::jsonb) AS x (id integer, fired timestamp with time zone)
            ON r2.id = x.id
        WHERE r2.last_fired_at IS NULL OR r2.last_fired_at < x.fired
        ORDER BY r2.id FOR UPDATE OF r2
    ) t
    WHERE r.id = t.id AND (r.last_fired_at IS NULL OR r.last_fired_at < t.fired)
)
SELECT d.id, NULL, NULL, NULL FROM d
UNION ALL SELECT NULL, fp, st, en FROM old
"""  # noqa: S608 (names and types from the models, values bound)
    return sql, delivery_fields


def bound_cursor(db: BaseDatabaseWrapper, *, prepare: bool = False) -> Any:
    """Django's cursor, except on PostgreSQL: a server-side-binding psycopg cursor, wrapped as
    Django wraps its own (query log, database errors as django.db exceptions).

    Django's psycopg cursors bind client-side: every array element of the upsert (and the
    delivery's whole raw body) was quoted into the SQL text, the largest CPU cost of those
    statements, and PostgreSQL parsed and planned a new text each time. Bound server-side, the
    values travel as parameters.

    `prepare`: the statement is also prepared on the connection, once (Django turns psycopg's
    automatic preparation off: `prepare_threshold` None). Planning the one-statement write
    over the partitioned tables cost PostgreSQL more than executing it, on every delivery;
    prepared, it is planned once per connection (and again by PostgreSQL itself when a
    partition is attached or dropped)."""
    if db.vendor != "postgresql":
        return db.cursor()
    import psycopg

    db.ensure_connection()
    db.validate_thread_sharing()
    raw = psycopg.Cursor(db.connection)
    if prepare:
        if db.connection.prepare_threshold is None:
            # Django's default (None) makes psycopg ignore `prepare=True`. Django's own cursors
            # (client-side binding) never prepare, and this never comes by itself: only the
            # statements executed with `prepare=True` are prepared.
            db.connection.prepare_threshold = _ONLY_WHEN_ASKED
        return (_PreparedDebugWrapper if db.queries_logged else _PreparedWrapper)(raw, db)
    return CursorDebugWrapper(raw, db) if db.queries_logged else CursorWrapper(raw, db)


_ONLY_WHEN_ASKED = 2**31 - 1


class _Prepare:
    """Django's `CursorWrapper._execute`, with psycopg's `prepare=True`."""

    cursor: Any
    db: BaseDatabaseWrapper

    def _execute(self, sql: str, params: Any, *ignored_wrapper_args: Any) -> Any:
        self.db.validate_no_broken_transaction()
        with self.db.wrap_database_errors:
            return self.cursor.execute(sql, params, prepare=True)


class _PreparedWrapper(_Prepare, CursorWrapper):
    pass


class _PreparedDebugWrapper(_Prepare, CursorDebugWrapper):
    def execute(self, sql: Any, params: Any = None) -> Any:
        # The query log gets the statement's text: psycopg keeps none for a prepared execution.
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


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
