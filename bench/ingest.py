"""Ingest benchmark: Steward under gunicorn on PostgreSQL, v4 bodies posted over loopback.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_ingest .venv/bin/python bench/ingest.py

1. migrate, and pre-fill the episode table to 1,000,000 rows with one generate_series INSERT
   (kept between runs: a rate that only holds on an empty table is no rate);
2. create an ingest token, start gunicorn (gthread, persistent DB connections) on --port;
3. for each scenario (1 and 50 alerts per delivery), post pre-built bodies from --concurrency
   threads with keep-alive connections: distinct fingerprints, re-sends of earlier alerts and
   resolves of earlier firings, in a shuffled order;
4. print alerts/s, requests/s, p50/p95/p99; then check that the stored episodes are exactly
   those sent (one per (fingerprint, startsAt), ends_at the earliest resolve sent, and
   notification_count the number of times each was sent).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PREFILL = 1_000_000


@dataclass
class Expected:
    """What the database must hold afterwards, per (fingerprint, startsAt)."""

    ends: dict[tuple[str, str], str | None] = field(default_factory=dict)
    sends: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def record(self, alert: dict[str, object]) -> None:
        key = (str(alert["fingerprint"]), str(alert["startsAt"]))
        self.sends[key] += 1
        end = str(alert["endsAt"]) if alert["status"] == "resolved" else None
        known = self.ends.get(key)
        if key not in self.ends or known is None:
            self.ends[key] = end
        elif end is not None:
            self.ends[key] = min(known, end)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def prefill() -> None:
    from django.db import connection

    from alerts.models import AlertRule

    rule, _ = AlertRule.objects.get_or_create(alertname="BenchPrefill", matchers_key="")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM alerts_episode WHERE rule_id = %s", [rule.pk])
        have = cursor.fetchone()[0]
        if have >= PREFILL:
            print(f"prefill: {have:,} episodes already there")
            return
        started = time.perf_counter()
        cursor.execute(
            """
            INSERT INTO alerts_episode (rule_id, fingerprint, labels, annotations, starts_at,
                ends_at, source, generator_url, notification_count, created_at, updated_at)
            SELECT %s, 'p' || lpad(to_hex(g), 15, '0'),
                   jsonb_build_object('alertname', 'BenchPrefill', 'n', g::text), '{}'::jsonb,
                   now() - make_interval(secs => g * 60),
                   now() - make_interval(secs => g * 60 - 30),
                   'prometheus', '', 1, now(), now()
            FROM generate_series(%s, %s) AS g
            """,
            [rule.pk, have + 1, PREFILL],
        )
        cursor.execute("ANALYZE alerts_episode")
    print(f"prefill: {PREFILL - have:,} episodes inserted in {time.perf_counter() - started:.1f} s")


def make_token() -> str:
    from tokens.services import token_create

    _, raw = token_create(name=f"bench-{uuid.uuid4().hex[:6]}", scope="ingest")
    return raw


def build_bodies(per_delivery: int, deliveries: int, expected: Expected) -> list[bytes]:
    """Deliveries of `per_delivery` alerts: ~60% new firings, ~20% re-sends, ~20% resolves."""
    from alerts.integrations.alertmanager.fingerprint import fingerprint

    run = uuid.uuid4().hex[:8]
    rng = random.Random(run)
    base = datetime.now(UTC) - timedelta(hours=1)
    sent_by_group: dict[int, list[dict[str, object]]] = defaultdict(list)
    bodies = []
    serial = 0
    for number in range(deliveries):
        alerts = []
        # Alertmanager groups by alertname: a delivery carries one alertname (one rule).
        group = number % 25
        sent = sent_by_group[group]
        for _ in range(per_delivery):
            roll = rng.random()
            if sent and roll < 0.2:
                alert = dict(rng.choice(sent))  # a re-send, unchanged
            elif sent and roll < 0.4:
                alert = dict(rng.choice(sent))  # a resolve (maybe of a resolve: fine)
                starts = datetime.fromisoformat(str(alert["startsAt"]))
                alert["status"] = "resolved"
                alert["endsAt"] = (starts + timedelta(seconds=rng.randint(1, 600))).isoformat()
            else:
                serial += 1
                labels = {
                    "alertname": f"BenchAlert{group}",
                    "bench": run,
                    "instance": f"pod-{serial}",
                    "model": "fraud-scorer",
                    "severity": "warning",
                }
                starts = base + timedelta(milliseconds=serial)
                alert = {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {"summary": "benchmark alert"},
                    "startsAt": starts.isoformat().replace("+00:00", "Z"),
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus:9090/graph",
                    "fingerprint": fingerprint(labels),
                }
                sent.append(alert)
            # one fingerprint once per delivery, as Alertmanager groups do
            if any(a["fingerprint"] == alert["fingerprint"] for a in alerts):
                continue
            alert["startsAt"] = str(alert["startsAt"]).replace("+00:00", "Z")
            if alert["status"] == "resolved":
                alert["endsAt"] = str(alert["endsAt"]).replace("+00:00", "Z")
            alerts.append(alert)
            expected.record(alert)
        body = {
            "receiver": "steward",
            "status": "firing",
            "alerts": alerts,
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "version": "4",
            "groupKey": f"bench-{run}",
            "truncatedAlerts": 0,
        }
        bodies.append(json.dumps(body).encode())
    return bodies


def start_gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        DEBUG="0",
        SECRET_KEY="bench-" + uuid.uuid4().hex,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        # As in production: derived work goes to the broker (nobody consumes it here) instead of
        # running in-process inside a request, which the embedded default does.
        CELERY_BROKER_URL=os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/9"),
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
    )
    process = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            f"--bind=127.0.0.1:{port}",
            f"--workers={workers}",
            "--worker-class=gthread",
            f"--threads={threads}",
            "--keep-alive=30",
            "--log-level=warning",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of gunicorn's master and workers so far, from /proc (Linux).

    Unlike requests/s, this hardly depends on what else the shared machine runs."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that just ended
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def load(
    port: int,
    token: str,
    bodies: list[bytes],
    concurrency: int,
    path: str = "/api/v1/integrations/alertmanager/",
    status: int = 200,
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    queue = list(enumerate(bodies))
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop()
            started = time.perf_counter()
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            payload = response.read()
            mine.append(time.perf_counter() - started)
            if response.status != status:
                failures.append(f"{response.status} {payload[:200]!r}")
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{len(failures)} failed requests, e.g. {failures[0]}")
    return elapsed, latencies


def verify(expected: Expected) -> None:
    from alerts.models import Episode

    def iso(moment: datetime) -> datetime:
        return moment.astimezone(UTC)

    stored = {}
    runs = {key[0] for key in expected.ends}
    rows = Episode.objects.filter(fingerprint__in=runs).values_list(
        "fingerprint", "starts_at", "ends_at", "notification_count"
    )
    for fp, starts_at, ends_at, count in rows:
        stored[fp, iso(starts_at)] = (ends_at and iso(ends_at), count)
    want = {
        (fp, datetime.fromisoformat(start)): (
            end and datetime.fromisoformat(end),
            expected.sends[fp, start],
        )
        for (fp, start), end in expected.ends.items()
    }
    missing = want.keys() - stored.keys()
    extra = stored.keys() - want.keys()
    wrong = [key for key in want.keys() & stored.keys() if want[key] != stored[key]]
    if missing or extra or wrong:
        raise SystemExit(
            f"verification FAILED: {len(missing)} missing, {len(extra)} extra, {len(wrong)} "
            f"wrong, e.g. {wrong[:1] and (want[wrong[0]], stored[wrong[0]])}"
        )
    print(f"  verified: {len(want):,} episodes exactly as sent (ends, counters)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=18200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--single", type=int, default=6000, help="1-alert deliveries")
    parser.add_argument("--batched", type=int, default=1200, help="50-alert deliveries")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (e.g. steward_ingest).")
    _django()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        check=True,
        env=dict(os.environ, DEBUG="1"),
    )
    prefill()
    token = make_token()
    server = start_gunicorn(args.port, args.workers, args.threads)
    try:
        # What this machine gives a Django view that touches no database, as a ceiling.
        elapsed, latencies = load(
            args.port, token, [b"{}"] * 2000, args.concurrency, "/api/v1/integrations/x/", 404
        )
        q = statistics.quantiles(latencies, n=100)
        print(
            f"baseline (404 JSON, no database), c={args.concurrency}: "
            f"{2000 / elapsed:,.0f} requests/s, p50 {q[49] * 1000:.1f} ms, "
            f"p99 {q[98] * 1000:.1f} ms"
        )
        for per_delivery, deliveries in ((1, args.single), (50, args.batched)):
            warm_up = build_bodies(per_delivery, max(1, deliveries // 20), Expected())
            load(args.port, token, warm_up, args.concurrency)
            expected = Expected()
            bodies = build_bodies(per_delivery, deliveries, expected)
            alerts = sum(len(json.loads(b)["alerts"]) for b in bodies)
            cpu = server_cpu_seconds(server.pid)
            elapsed, latencies = load(args.port, token, bodies, args.concurrency)
            cpu = server_cpu_seconds(server.pid) - cpu
            q = statistics.quantiles(latencies, n=100)
            print(
                f"{per_delivery:>2} alert(s)/delivery, c={args.concurrency}: "
                f"{alerts / elapsed:,.0f} alerts/s, {len(bodies) / elapsed:,.0f} requests/s, "
                f"p50 {q[49] * 1000:.1f} ms, p95 {q[94] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms "
                f"({len(bodies):,} deliveries, {alerts:,} alerts in {elapsed:.1f} s); "
                f"server CPU {cpu * 1000 / len(bodies):.2f} ms per delivery"
            )
            verify(expected)
    finally:
        server.terminate()
        server.wait(timeout=10)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM alerts_episode")
        print(f"episodes in the table afterwards: {cursor.fetchone()[0]:,}")


if __name__ == "__main__":
    main()
