"""PostgreSQL monthly RANGE partitions of the episode and delivery tables.

On PostgreSQL `alerts_episode` is partitioned by `starts_at` and `alerts_delivery` by
`received_at`, one partition per calendar month (UTC) named `<table>_pYYYYMM`, plus
`<table>_default` for anything outside the months that exist. Partitions are created a few
months ahead (at migrate time and by the retention beat task) and dropped whole once their
month is entirely past retention: dropping a month of ten million rows is a catalog change, not
ten million deletes.

What partitioning changes and why it stays correct:

- The primary key becomes (id, <partition column>): PostgreSQL requires the partition key in
  every unique index. `id` still comes from one sequence, so it stays unique in practice.
- The idempotence key of an episode is (fingerprint, starts_at), which already contains the
  partition column: the unique constraint `episode_unique_fingerprint_start` is kept as is, and
  the ingest upsert's `ON CONFLICT (fingerprint, starts_at)` keeps arbitrating on it; two rows
  with the same key always fall into the same partition. Delivery has no unique key but its id.
- No foreign-key constraint may point at a partitioned table without the partition key in the
  target, so Engagement.episode, Feedback.episode and Episode.first_delivery are declared with
  `db_constraint=False` (on both databases, so Django's model state matches). The ORM still
  cascades on delete; retention deletes the children before the parents.
- Foreign keys *from* these tables (rule, system, integration, token) stay enforced.

SQLite keeps plain tables; everything here is a no-op there.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.utils import OperationalError

logger = logging.getLogger(__name__)

# The partitioned tables and their partition column.
PARTITIONED = {"alerts_episode": "starts_at", "alerts_delivery": "received_at"}
# Months created ahead of the current one.
AHEAD_MONTHS = 3
# Locks on the parent table (attach, detach) wait at most this long, then give way to ingest and
# retry: a DDL statement queued behind a long query would otherwise queue every insert behind it.
LOCK_TIMEOUT_MS = 25
LOCK_ATTEMPTS = 400

_NAME = re.compile(r"^(?P<table>.+)_p(?P<year>\d{4})(?P<month>\d{2})$")


@dataclass(frozen=True, slots=True)
class Partition:
    table: str
    name: str
    start: datetime  # inclusive
    end: datetime  # exclusive


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def add_months(month: datetime, count: int) -> datetime:
    index = month.year * 12 + month.month - 1 + count
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def is_supported(db: BaseDatabaseWrapper | None = None) -> bool:
    return (db or connection).vendor == "postgresql"


def is_partitioned(table: str, db: BaseDatabaseWrapper | None = None) -> bool:
    db = db or connection
    if not is_supported(db):
        return False
    with db.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return bool(row and row[0] == "p")


def partitions(table: str, db: BaseDatabaseWrapper | None = None) -> list[Partition]:
    """The monthly partitions of `table`, oldest first (the default partition is not listed)."""
    db = db or connection
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(%s)",
            [table],
        )
        names = [name for (name,) in cursor.fetchall()]
    found = []
    for name in names:
        match = _NAME.match(name)
        if match and match["table"] == table:
            start = datetime(int(match["year"]), int(match["month"]), 1, tzinfo=UTC)
            found.append(Partition(table, name, start, add_months(start, 1)))
    return sorted(found, key=lambda p: p.start)


def default_partition(table: str) -> str:
    return f"{table}_default"


def _set_lock_timeout(cursor: CursorWrapper) -> None:
    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_MS}ms'")


def _with_lock_retries(action: str, work: Callable[[CursorWrapper], None]) -> None:
    """Run `work` (a callable taking a cursor) in its own short transaction, retrying on lock
    timeouts so that a busy parent table delays the DDL, never the inserts."""
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                _set_lock_timeout(cursor)
                work(cursor)
            return
        except OperationalError as error:
            if "lock timeout" not in str(error) or attempt == LOCK_ATTEMPTS:
                raise
            logger.debug("%s: lock busy (attempt %d), retrying", action, attempt)
            # Let the queued inserts through before queueing again.
            time.sleep(min(0.5, 0.02 * attempt) * (0.5 + random.random()))  # noqa: S311


def create_partition(table: str, month: datetime) -> bool:
    """Create the partition for `month` unless it exists; True when created.

    Rows of that month already sitting in the default partition are moved into the new
    partition in the same transaction (PostgreSQL refuses the partition otherwise).
    """
    name = partition_name(table, month)
    column = PARTITIONED[table]
    qn = connection.ops.quote_name
    start, end = month, add_months(month, 1)
    bounds = f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return False

    def work(cursor: CursorWrapper) -> None:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:  # another runner made it meanwhile
            return
        cursor.execute(
            f"CREATE TABLE {qn(name)} (LIKE {qn(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        default = default_partition(table)
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [default])
        if cursor.fetchone()[0]:
            cursor.execute(
                f"WITH moved AS (DELETE FROM {qn(default)} WHERE {qn(column)} >= %s "  # noqa: S608
                f"AND {qn(column)} < %s RETURNING *) INSERT INTO {qn(name)} SELECT * FROM moved",
                [start, end],
            )
        cursor.execute(f"ALTER TABLE {qn(table)} ATTACH PARTITION {qn(name)} FOR VALUES {bounds}")

    _with_lock_retries(f"create {name}", work)
    logger.info("partition %s created", name)
    return True


def ensure_partitions(now: datetime, *, ahead: int = AHEAD_MONTHS) -> list[str]:
    """The current month and `ahead` months after it exist for every partitioned table."""
    created = []
    for table in PARTITIONED:
        if not is_partitioned(table):
            continue
        first = month_start(now)
        for offset in range(ahead + 1):
            month = add_months(first, offset)
            if create_partition(table, month):
                created.append(partition_name(table, month))
    return created


def expired_partitions(table: str, cutoff: datetime) -> list[Partition]:
    """Partitions whose whole month lies before `cutoff`."""
    if not is_partitioned(table):
        return []
    # By name rather than by pg_inherits: a month detached by a run that stopped before its
    # DROP is still found, and dropped, by the next one.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s "
            "AND relnamespace = current_schema()::regnamespace",
            [table.replace("_", r"\_") + r"\_p%"],
        )
        names = [name for (name,) in cursor.fetchall()]
    found = []
    for name in names:
        match = _NAME.match(name)
        if match and match["table"] == table:
            start = datetime(int(match["year"]), int(match["month"]), 1, tzinfo=UTC)
            found.append(Partition(table, name, start, add_months(start, 1)))
    return sorted((p for p in found if p.end <= cutoff), key=lambda p: p.start)


def estimated_rows(partition: Partition) -> int:
    """Rows in a partition as of its last ANALYZE (autovacuum keeps it close): counting a
    month of millions of rows exactly would cost more than dropping it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = to_regclass(%s)",
            [partition.name],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def drop_partition(partition: Partition) -> None:
    """DETACH (a brief ACCESS EXCLUSIVE lock on the parent, under a short lock timeout, retried
    while ingest holds its locks), then DROP the detached table in its own transaction, which
    no longer locks the parent. A run stopped between the two leaves a detached table that the
    next run drops."""
    qn = connection.ops.quote_name

    def detach(cursor: CursorWrapper) -> None:
        cursor.execute(
            "SELECT 1 FROM pg_inherits WHERE inhrelid = to_regclass(%s) "
            "AND inhparent = to_regclass(%s)",
            [partition.name, partition.table],
        )
        if cursor.fetchone() is None:
            return
        # Deferred FK checks of rows written earlier in an enclosing transaction (tests, or a
        # caller's atomic block) must run first: PostgreSQL refuses to detach a table with
        # pending trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {qn(partition.table)} DETACH PARTITION {qn(partition.name)}")

    def drop(cursor: CursorWrapper) -> None:
        cursor.execute(f"DROP TABLE IF EXISTS {qn(partition.name)}")

    _with_lock_retries(f"detach {partition.name}", detach)
    _with_lock_retries(f"drop {partition.name}", drop)
    logger.info("partition %s dropped", partition.name)


# --- The conversion, run once by migration alerts.0009 ------------------------------------------


def partition_table(cursor: CursorWrapper, table: str, now: datetime) -> None:
    """Turn the plain `table` into a table partitioned by month, keeping rows, ids, constraints
    and indexes (same names). Runs inside the migration's transaction."""
    column = PARTITIONED[table]
    plain = f"{table}_plain"
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE confrelid = to_regclass(%s) AND contype = 'f'",
        [table],
    )
    incoming = [name for (name,) in cursor.fetchall()]
    if incoming:
        raise RuntimeError(f"{table} is referenced by foreign keys {incoming}; cannot partition")
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid), "
        "ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = conrelid "
        "AND attnum = ANY(conkey)) "
        "FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u', 'f')",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = to_regclass(%s))",
        [table, table],
    )
    indexes = cursor.fetchall()
    cursor.execute(f'SELECT min("{column}"), max("{column}"), max(id) FROM "{table}"')  # noqa: S608
    oldest, newest, max_id = cursor.fetchone()

    cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{plain}"')
    cursor.execute(
        f'CREATE TABLE "{table}" (LIKE "{plain}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
        f'INCLUDING STORAGE) PARTITION BY RANGE ("{column}")'
    )
    # Months of the existing rows (at most three years back; older rows go to the default
    # partition, where retention deletes them in batches) up to AHEAD_MONTHS after now.
    first = month_start(now)
    last = add_months(first, AHEAD_MONTHS)
    if oldest is not None:
        first = max(min(first, month_start(oldest)), add_months(month_start(now), -36))
        last = max(last, min(month_start(newest), add_months(month_start(now), 12)))
    month = first
    while month <= last:
        cursor.execute(
            f'CREATE TABLE "{partition_name(table, month)}" PARTITION OF "{table}" '
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{add_months(month, 1).isoformat()}')"
        )
        month = add_months(month, 1)
    cursor.execute(f'CREATE TABLE "{default_partition(table)}" PARTITION OF "{table}" DEFAULT')
    cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{plain}"')  # noqa: S608
    cursor.execute(f'DROP TABLE "{plain}"')

    # The identity sequence went with the plain table: a sequence owned by the new id column.
    sequence = f"{table}_id_seq"
    cursor.execute(f'CREATE SEQUENCE "{sequence}" AS bigint OWNED BY "{table}".id')
    cursor.execute("SELECT setval(%s, %s, %s)", [sequence, max_id or 1, max_id is not None])
    cursor.execute(f"ALTER TABLE \"{table}\" ALTER COLUMN id SET DEFAULT nextval('{sequence}')")

    for name, kind, definition, columns in constraints:
        if kind == "p":
            definition = f'PRIMARY KEY (id, "{column}")'
        elif kind == "u" and column not in columns:
            raise RuntimeError(f"unique constraint {name} of {table} lacks {column}")
        elif kind == "f" and any(
            f"REFERENCES {other}(" in definition for other in PARTITIONED
        ):  # pragma: no cover (the model declares these without constraints)
            continue
        cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:  # read before the rename: they name `table`
        cursor.execute(definition)
