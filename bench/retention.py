"""Retention benchmark: trim 10,000,000 expired episodes on PostgreSQL while ingest runs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_retention \
        .venv/bin/python bench/retention.py

1. migrate; empty the episode table (this database is the benchmark's own) and load
   --episodes rows spread over the 12 whole months before the retention cut-off (one
   generate_series INSERT per month into a bare table, indexed when attached as a partition),
   plus --partial rows in the month that holds the cut-off (half of them past it);
2. start Steward under gunicorn as bench/ingest.py does (production settings, Redis broker) and
   post one-alert Alertmanager deliveries at a steady --rate from --concurrency threads;
3. after --warmup seconds of ingest alone, run retention_apply (the beat task's service) in this
   process; ingest keeps running through the trim and --warmup seconds after it;
4. print the trim time, partitions dropped, rows deleted and remaining, and ingest p50/p99
   before, during and after the trim, with the machine's load average.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import Expected, build_bodies, make_token, start_gunicorn  # noqa: E402


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
    """One-alert deliveries at a steady rate; each latency is stamped with its start time."""

    def __init__(self, port: int, token: str, bodies: list[bytes], rate: float, threads: int):
        self.port, self.token, self.bodies = port, token, bodies
        self.interval = threads / rate
        self.threads = threads
        self.samples: list[tuple[float, float]] = []
        self.failures: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.workers = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def finish(self) -> None:
        self.stop.set()
        for worker in self.workers:
            worker.join()

    def run(self, index: int) -> None:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        next_at = time.perf_counter() + index * self.interval / self.threads
        position = index
        while not self.stop.is_set():
            pause = next_at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            next_at += self.interval
            body = self.bodies[position % len(self.bodies)]
            position += self.threads
            started = time.perf_counter()
            conn.request("POST", "/api/v1/integrations/alertmanager/", body, headers)
            response = conn.getresponse()
            payload = response.read()
            took = time.perf_counter() - started
            with self.lock:
                self.samples.append((started, took))
                if response.status != 200:
                    self.failures.append(f"{response.status} {payload[:200]!r}")
        conn.close()

    def window(self, start: float, end: float) -> list[float]:
        with self.lock:
            return sorted(took for at, took in self.samples if start <= at < end)


def describe(name: str, latencies: list[float]) -> str:
    if not latencies:
        return f"{name}: no requests"
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return (
        f"{name}: {len(latencies)} requests, p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=10_000_000)
    parser.add_argument("--partial", type=int, default=100_000)
    parser.add_argument("--port", type=int, default=26080)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rate", type=float, default=50.0, help="deliveries per second")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--skip-load", action="store_true", help="reuse the loaded episodes")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database of the benchmark's own")
    _django()
    from django.conf import settings
    from django.db import connection

    from alerts.retention.services import RetentionPolicy, retention_apply

    policy = RetentionPolicy.from_settings()
    if not args.skip_load:
        load_episodes(args.episodes, args.partial, policy.episodes_days)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM alerts_episode")
        before = cursor.fetchone()[0]
    token = make_token()
    bodies = build_bodies(1, 20_000, Expected())
    server = start_gunicorn(args.port, args.workers, args.threads)
    try:
        paced = PacedLoad(args.port, token, bodies, args.rate, args.concurrency)
        paced.start()
        time.sleep(args.warmup)
        load_before = os.getloadavg()
        trim_start = time.perf_counter()
        report = retention_apply(policy=policy)
        trim_end = time.perf_counter()
        time.sleep(args.warmup)
        paced.finish()
    finally:
        server.terminate()
        server.wait(timeout=30)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM alerts_episode")
        remaining = cursor.fetchone()[0]
    dropped = [p for p in report.partitions_dropped if p.startswith("alerts_episode_")]
    print(
        f"machine: {os.cpu_count()} cores, load average before the trim "
        f"{load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f}"
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
    print(f"ingest at {args.rate:.0f} deliveries/s, c={args.concurrency} (1 alert per delivery):")
    print("  " + describe("before the trim", paced.window(0, trim_start)))
    print("  " + describe("during the trim", paced.window(trim_start, trim_end)))
    for name, start, end in report.phases:
        if end - start >= 0.5 and name != "episodes":
            window = paced.window(trim_start + start, trim_start + end)
            print("    " + describe(f"{name} ({end - start:.1f} s)", window))
    print("  " + describe("after the trim", paced.window(trim_end, float("inf"))))
    if paced.failures:
        print(f"  {len(paced.failures)} failed requests, e.g. {paced.failures[0]}")


if __name__ == "__main__":
    main()
