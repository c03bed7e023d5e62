"""The few SQL fragments that differ between SQLite and PostgreSQL.

Times are compared as integer epoch milliseconds inside the statistics queries: integer
arithmetic is exact and identical on both databases, where interval and julianday arithmetic
are not. Milliseconds are plenty for alert timestamps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Field, Model


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def epoch_ms(column: str) -> str:
    """SQL for the epoch milliseconds of a datetime column, as an integer."""
    if is_postgres():
        return f"CAST(ROUND(EXTRACT(EPOCH FROM {column}) * 1000) AS BIGINT)"
    # SQLite keeps julian days with millisecond precision; rounding recovers them exactly.
    return f"CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER)"


def to_ms(moment: datetime) -> int:
    return int(round(moment.timestamp() * 1000))


def least(a: str, b: str) -> str:
    # SQLite has no LEAST/GREATEST; CASE is portable (and NULL-free here by construction).
    return f"(CASE WHEN {a} < {b} THEN {a} ELSE {b} END)"


def greatest(a: str, b: str) -> str:
    return f"(CASE WHEN {a} > {b} THEN {a} ELSE {b} END)"


def db_datetime(moment: datetime) -> Any:
    """A datetime as the database driver expects it in a raw query parameter."""
    return connection.ops.adapt_datetimefield_value(moment)


def fetch_all(sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def insert_rows(model: type[Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert many rows with ONE statement whatever their number.

    The rows travel as a single JSON parameter unpacked by the database (`json_each` on SQLite,
    `jsonb_to_recordset` on PostgreSQL). Django's bulk_create would split them into batches
    of 999 parameters on SQLite, so the number of queries would grow with the number of rules.
    """
    payload = [[_json_value(value) for value in row] for row in rows]
    if not payload:
        return 0
    fields = [_concrete_field(model, column) for column in columns]
    table = connection.ops.quote_name(model._meta.db_table)
    quoted = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    if is_postgres():
        types = ", ".join(f"c{i} {field.db_type(connection)}" for i, field in enumerate(fields))
        objects = [{f"c{i}": value for i, value in enumerate(row)} for row in payload]
        names = ", ".join(f"c{i}" for i in range(len(fields)))
        sql = f"INSERT INTO {table} ({quoted}) SELECT {names} FROM jsonb_to_recordset(%s::jsonb) AS x({types})"  # noqa: E501, S608
        params: list[Any] = [json.dumps(objects)]
    else:
        selects = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(fields)))
        sql = f"INSERT INTO {table} ({quoted}) SELECT {selects} FROM json_each(%s)"  # noqa: S608
        params = [json.dumps(payload)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    return len(payload)


def _concrete_field(model: type[Model], name: str) -> Field[Any, Any]:
    field = model._meta.get_field(name)
    if not isinstance(field, Field):
        raise TypeError(f"{model.__name__}.{name} is not a concrete column.")
    return field


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if is_postgres():
            return value.astimezone(UTC).isoformat()
        return db_datetime(value)
    if isinstance(value, dict):
        # JSONField columns hold JSON text on SQLite; json_extract of an object returns it as
        # text already, so objects pass through unchanged there.
        return value
    return value
