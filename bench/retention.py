"""Retention benchmark: trim 10,000,000 expired episodes on PostgreSQL while ingest runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_retention \
        .venv/bin/python bench/retention.py

1. migrate; empty the episode table (this database is the benchmark's own) and load
   --episodes rows spread over the 12 whole months before the retention cut-off (one
   generate_series INSERT per month into a bare table, indexed when attached as a partition),
   plus --partial rows in the month that holds the cut-off (half of them past it);
2. start Steward exactly as bench/ingest.py does (`deploy/gunicorn.conf.py`, production
   settings, JSON logs, multiprocess metrics, Redis cache and broker) and post one-alert
   Alertmanager deliveries at a FIXED --rate (50/s by default) over --concurrency keep-alive
   connections: an open-loop schedule, each request due at its own time, so that the stream is
   the same before, during and after the trim, and the server is never saturated by the load
   generator (a closed loop at c=8 measures queueing, not the trim's interference);
3. after --settle seconds (the workers' first requests, not counted) and --warmup seconds of
   ingest alone, run retention_apply (the beat task's service) in a forked process (as a
   worker runs it; in this one it would compete for the GIL with the load generator); ingest
   keeps running through the trim and --warmup seconds after it;
4. meanwhile a monitor polls pg_locks every 5 ms for lock waits (`waitstart`), the trim's own
   session apart from the others (ingest);
5. print the trim time, partitions dropped, rows deleted and remaining, and for ingest before,
   during and after the trim: requests, achieved rate, p50/p99/max latency counted from each
   request's due time (a stall delays the requests behind it, and that counts), failures, and
   the longest lock wait; with the machine's load average at each point.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import (  # noqa: E402
    WEBHOOK,
    _exchange,
    build_pool,
    make_token,
    production_env,
    stop,
)
from ingest import start as start_server  # noqa: E402


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def load_episodes(total: int, partial: int, episode_days: int) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from alerts.models import AlertRule
    from alerts.retention import partitions as parts

    call_command("migrate", verbosity=0)
    if not parts.is_partitioned("alerts_episode"):
        raise SystemExit("alerts_episode is not partitioned: run on PostgreSQL")
    rule, _ = AlertRule.objects.get_or_create(alertname="BenchRetention", matchers_key="")
    cut_month = parts.month_start(timezone.now() - timedelta(days=episode_days))
    months = [parts.add_months(cut_month, -12 + i) for i in range(12)]
    per_month = total // 12
    columns = (
        "rule_id, fingerprint, labels, annotations, starts_at, ends_at, source, generator_url, "
        "notification_count, created_at, updated_at"
    )
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE alerts_engagement, alerts_feedback, alerts_episode")
        for partition in parts.partitions("alerts_episode"):
            if partition.start < parts.month_start(timezone.now()):
                cursor.execute(f'ALTER TABLE alerts_episode DETACH PARTITION "{partition.name}"')
                cursor.execute(f'DROP TABLE "{partition.name}"')
        for month in months:
            name = parts.partition_name("alerts_episode", month)
            seconds = (parts.add_months(month, 1) - month).total_seconds()
            cursor.execute(
                f'CREATE TABLE "{name}" (LIKE alerts_episode INCLUDING DEFAULTS '
                "INCLUDING CONSTRAINTS)"
            )
            cursor.execute(
                f"""
                INSERT INTO "{name}" ({columns})
                SELECT %s, 'r' || to_char(%s::timestamptz, 'YYYYMM') || lpad(to_hex(g), 12, '0'),
                       jsonb_build_object('alertname', 'BenchRetention', 'n', g::text),
                       '{{}}'::jsonb,
                       %s::timestamptz + make_interval(secs => (g - 1) * %s / %s),
                       %s::timestamptz + make_interval(secs => (g - 1) * %s / %s + 30),
                       'prometheus', '', 1, now(), now()
                FROM generate_series(1, %s) AS g
                """,  # noqa: S608
                [rule.pk, month, month, seconds, per_month, month, seconds, per_month, per_month],
            )
            cursor.execute(
                f'ALTER TABLE alerts_episode ATTACH PARTITION "{name}" FOR VALUES '
                f"FROM ('{month.isoformat()}') TO ('{parts.add_months(month, 1).isoformat()}')"
            )
            print(f"  {name}: {per_month:,} episodes", flush=True)
        parts.create_partition("alerts_episode", cut_month)
        seconds = (parts.add_months(cut_month, 1) - cut_month).total_seconds()
        cursor.execute(
            f"""
            INSERT INTO alerts_episode ({columns})
            SELECT %s, 'c' || lpad(to_hex(g), 15, '0'), '{{}}'::jsonb, '{{}}'::jsonb,
                   %s::timestamptz + make_interval(secs => (g - 1) * %s / %s),
                   NULL, 'prometheus', '', 1, now(), now()
            FROM generate_series(1, %s) AS g
            """,  # noqa: S608
            [rule.pk, cut_month, seconds, partial, partial],
        )
        cursor.execute("ANALYZE alerts_episode")
        cursor.execute("SELECT count(*) FROM alerts_episode")
        count = cursor.fetchone()[0]
    print(
        f"loaded {count:,} episodes ({total:,} in 12 months before the cut-off month "
        f"{cut_month:%Y-%m}, {partial:,} in it) in {time.perf_counter() - started:.0f} s",
        flush=True,
    )


class PacedLoad:
    """Pre-built one-alert deliveries at a fixed rate over `connections` keep-alive sockets.

    Request i is due at start + i / rate (connection i % connections sends it); its latency is
    counted from that due time, so a stall also counts for the requests it delays."""

    def __init__(self, port: int, requests: list[bytes], rate: float, connections: int):
        self.port, self.requests, self.rate = port, requests, rate
        self.connections = connections
        self.samples: list[tuple[float, float]] = []  # (due, latency from due)
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.begin = 0.0
        self.workers = [threading.Thread(target=self.run, args=(i,)) for i in range(connections)]

    def start(self) -> None:
        self.begin = time.perf_counter() + 0.1
        for worker in self.workers:
            worker.start()

    def finish(self) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join()

    def run(self, index: int) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = bytearray()
        number = index
        while not self.stop.is_set():
            if number >= len(self.requests):
                self.failures.append("request pool exhausted")
                break
            due = self.begin + number / self.rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            try:
                status, closing = _exchange(sock, self.requests[number], buffer)
            except OSError as error:
                status, closing = 0, True
                self.failures.append(type(error).__name__)
            took = time.perf_counter() - due
            with self.lock:
                self.samples.append((due, took))
                if status and not 200 <= status < 300:
                    self.failures.append(f"HTTP {status}")
            if closing:
                sock.close()
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
                buffer.clear()
            number += self.connections
        sock.close()

    def window(self, start: float, end: float) -> list[float]:
        with self.lock:
            return sorted(took for at, took in self.samples if start <= at < end)


class LockMonitor:
    """Polls pg_locks for sessions waiting on a lock; keeps (time, seconds waited, trim's?)."""

    def __init__(self, database_url: str, trim_pid: int):
        self.url, self.trim_pid = database_url, trim_pid
        self.samples: list[tuple[float, float, bool]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.is_set():
                rows = conn.execute(
                    "SELECT pid, extract(epoch FROM clock_timestamp() - waitstart) "
                    "FROM pg_locks WHERE NOT granted AND waitstart IS NOT NULL"
                ).fetchall()
                now = time.perf_counter()
                for pid, waited in rows:
                    self.samples.append((now, float(waited), pid == self.trim_pid))
                time.sleep(0.005)

    def longest(self, start: float, end: float, *, trim: bool) -> float:
        waits = [w for at, w, by_trim in self.samples if start <= at < end and by_trim == trim]
        return max(waits, default=0.0)


def _trim(policy: object, pipe: Any) -> None:
    """The child: its own database session (its pid first, for the lock monitor), the trim,
    then the report."""
    from django.db import connection

    from alerts.retention.services import retention_apply

    connection.close()  # the parent's session is not this process's
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pipe.send(cursor.fetchone()[0])
    pipe.send(retention_apply(policy=policy))
    connection.close()


def _trim_in_a_child(policy: object, monitor: LockMonitor) -> Any:
    """retention_apply in a forked process, as the beat task runs in a worker: in this one its
    Python work would hold the GIL that the load generator's threads need to send on time."""
    from django.db import connection

    connection.close()
    ours, theirs = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(target=_trim, args=(policy, theirs))
    child.start()
    monitor.trim_pid = ours.recv()
    report = ours.recv()
    child.join()
    return report


def describe(name: str, latencies: list[float], seconds: float) -> str:
    if not latencies:
        return f"{name}: no requests"
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return (
        f"{name}: {len(latencies)} requests ({len(latencies) / seconds:.0f}/s), "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {latencies[-1] * 1000:.1f} ms"
    )


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=10_000_000)
    parser.add_argument("--partial", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=26080)
    parser.add_argument("--rate", type=float, default=50.0, help="deliveries per second, fixed")
    parser.add_argument("--concurrency", type=int, default=2, help="keep-alive connections")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before and after")
    parser.add_argument(
        "--settle", type=float, default=5.0, help="first seconds of load, not counted (warm-up)"
    )
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded episodes")
    parser.add_argument("--load-only", action="store_true", help="load, then stop (no trim)")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database of the benchmark's own")
    _django()
    from django.conf import settings
    from django.db import connection

    from alerts.retention.services import RetentionPolicy

    policy = RetentionPolicy.from_settings()
    print(f"load average at start: {_load()} ({os.cpu_count()} CPUs)", flush=True)
    if not args.skip_load:
        load_episodes(args.episodes, args.partial, policy.episodes_days)
    if args.load_only:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM alerts_episode")
        before = cursor.fetchone()[0]
    token = make_token()
    seconds = args.settle + 2 * args.warmup + 600  # the trim's upper bound; the pool is cheap
    requests = build_pool(1, int(args.rate * seconds), WEBHOOK, token).requests
    work = Path(tempfile.mkdtemp(prefix="steward-retention-"))
    metrics_dir = tempfile.mkdtemp(prefix="steward-metrics-", dir="/dev/shm")  # noqa: S108
    env = production_env(args.port, metrics_dir)
    server = start_server(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application"]
        + ["-c", "deploy/gunicorn.conf.py"],
        env,
        args.port,
        work / "steward.log",
    )
    monitor = LockMonitor(os.environ["DATABASE_URL"], 0)
    try:
        paced = PacedLoad(args.port, requests, args.rate, args.concurrency)
        monitor.thread.start()
        paced.start()
        time.sleep(args.settle + args.warmup)
        load_before = _load()
        trim_start = time.perf_counter()
        report = _trim_in_a_child(policy, monitor)
        trim_end = time.perf_counter()
        load_during = _load()
        time.sleep(args.warmup)
        paced.finish()
        load_after = _load()
    finally:
        monitor.stop.set()
        stop(server)
    monitor.thread.join()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM alerts_episode")
        remaining = cursor.fetchone()[0]
    dropped = [p for p in report.partitions_dropped if p.startswith("alerts_episode_")]
    print(
        f"machine: {os.cpu_count()} cores, load average before the trim {load_before}, "
        f"at its end {load_during}, after {load_after}"
    )
    print(
        f"retention ({policy.episodes_days} days of episodes, batch "
        f"{settings.STEWARD_RETENTION_BATCH}): trim took {trim_end - trim_start:.2f} s"
    )
    print(f"  episode partitions dropped: {len(dropped)} ({', '.join(dropped)})")
    print(
        f"  episodes before: {before:,}; after: {remaining:,} (ingest added some); "
        f"reported deleted: {report.episodes_deleted:,}"
    )
    print(f"  partitions created: {', '.join(report.partitions_created) or '-'}")
    print(
        f"ingest: Steward in its production configuration, fixed {args.rate:.0f} deliveries/s "
        f"(1 alert each) over {args.concurrency} keep-alive connections, latency from each "
        "request's due time:"
    )
    windows = [
        ("before the trim", paced.begin + args.settle, trim_start),
        ("during the trim", trim_start, trim_end),
        ("after the trim", trim_end, float("inf")),
    ]
    last = max((at for at, _ in paced.samples), default=trim_end)
    for name, start_at, end_at in windows:
        span = min(end_at, last) - start_at
        line = describe(name, paced.window(start_at, end_at), max(span, 1e-9))
        ingest_wait = monitor.longest(start_at, end_at, trim=False)
        print(f"  {line}; longest lock wait of an ingest session {ingest_wait * 1000:.1f} ms")
        if name == "during the trim":
            for phase, start, end in report.phases:
                if end - start >= 0.5 and phase != "episodes":
                    window = paced.window(trim_start + start, trim_start + end)
                    print("    " + describe(f"{phase} ({end - start:.1f} s)", window, end - start))
            trim_wait = monitor.longest(start_at, end_at, trim=True)
            print(f"    longest lock wait of the trim's session {trim_wait * 1000:.1f} ms")
    if paced.failures:
        print(f"  {len(paced.failures)} failed requests, e.g. {paced.failures[0]}")
    else:
        print("  no failed requests")


if __name__ == "__main__":
    main()
