"""Benchmark of the API's hot paths on gunicorn + PostgreSQL (issue 7).

1. Seed a catalog (default 5,000 rules over 50 teams, a third with label matchers) in the
   steward_api database.
2. Time the lint gate on a generated 1,000-rule file (in-process, against the same database).
3. Start gunicorn on 127.0.0.1:PORT and drive `GET /api/v1/ownership/` with CONCURRENCY
   keep-alive clients (processes × threads, so the load generator is not one GIL) for DURATION
   seconds after a 2 s warm-up, twice: over 2,000 distinct alerts (mostly cache misses: each
   worker has its own process-local cache here) and over 200 (a router's hot set, answered
   from the cache); report lookups/s and p50/p95/p99 latency. Then the same harness on an
   anonymous request (DRF answers 401 without the database): the machine's ceiling right now.

Usage: .venv/bin/python bench/api.py [--rules 5000] [--duration 15] [--concurrency 16]
Goals: >= 1,000 lookups/s at c=16 with p99 < 30 ms; 1,000-rule file linted in < 2 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/steward_api"
ENV = {
    "DATABASE_URL": os.environ.get("DATABASE_URL", DEFAULT_DB),
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "DEBUG": "0",
    "SECURE_SSL_REDIRECT": "0",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "LOG_LEVEL": "ERROR",
}


def setup_django() -> None:
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def seed(rules: int) -> tuple[str, list[str]]:
    """A fresh catalog of `rules` rules; returns a read token and sample lookup paths."""
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from alerts.models import AlertRule, Waiver
    from fleet.models import AISystem, Membership, Team
    from runbooks.models import Runbook
    from tokens.models import ApiToken
    from tokens.services import token_create

    for model in (Waiver, AlertRule, ApiToken, Runbook, AISystem, Membership, Team):
        model.objects.all().delete()
    User.objects.filter(username__startswith="bench-").delete()
    teams = Team.objects.bulk_create(
        Team(slug=f"team-{i}", name=f"Team {i}", chat_channel=f"#team-{i}") for i in range(50)
    )
    users = User.objects.bulk_create(User(username=f"bench-{i}") for i in range(100))
    Membership.objects.bulk_create(
        Membership(team=teams[i % 50], user=user, role="lead" if i < 50 else "member")
        for i, user in enumerate(users)
    )
    systems = AISystem.objects.bulk_create(
        AISystem(slug=f"model-{i}", name=f"Model {i}", owner_team=teams[i % 50]) for i in range(500)
    )
    runbooks = Runbook.objects.bulk_create(
        Runbook(slug=f"runbook-{i}", title=f"Runbook {i}", owner_team=teams[i % 50])
        for i in range(1000)
    )
    objects = []
    for i in range(rules):
        name = f"Alert{i // 3}"
        matchers = {"model": f"model-{i % 500}"} if i % 3 else {}
        objects.append(
            AlertRule(
                alertname=name,
                matchers=matchers,
                matchers_key=",".join(f"{k}={v}" for k, v in matchers.items()),
                severity="page",
                layer="ml",
                owner_team=teams[i % 50],
                system=systems[i % 500],
                runbook=runbooks[i % 1000],
            )
        )
    AlertRule.objects.bulk_create(objects, ignore_conflicts=True)
    _, raw = token_create(name="bench read", scope="read")
    samples = []
    for _ in range(2000):
        j = random.randrange(rules)
        params = {"alertname": f"Alert{j // 3}", "model": f"model-{j % 500}", "env": "prod"}
        samples.append("/api/v1/ownership/?" + urlencode(params))
    return raw, samples


def bench_lint(rules: int = 1000) -> float:
    from alerts.lint.engine import lint_rule_files

    rule = """  - alert: Alert{i}
    expr: sum by (job) (rate(errors_total{{job="j{i}", code=~"5.."}}[5m])) > 0.1
    for: 5m
    labels: {{severity: page, team: team-{t}, layer: ml}}
    annotations:
      summary: Errors above 10%
      runbook_url: http://127.0.0.1:8000/runbooks/for/Alert{i}/?model=model-{i}
"""
    text = "groups:\n- name: big\n  rules:\n" + "".join(
        rule.format(i=i, t=i % 50) for i in range(rules)
    )
    start = time.perf_counter()
    report = lint_rule_files([("big.yml", text)])
    elapsed = time.perf_counter() - start
    assert report.alerts == rules, report.alerts
    return elapsed


def _client_process(
    port: int,
    token: str,
    paths: list[str],
    threads: int,
    warmup: float,
    duration: float,
    out: multiprocessing.Queue[list[float]],
) -> None:
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.monotonic()
    measure_from, stop_at = start + warmup, start + warmup + duration

    def worker() -> None:
        mine: list[float] = []
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        expected = 200 if token else 401
        while True:
            now = time.monotonic()
            if now >= stop_at:
                break
            conn.request("GET", random.choice(paths), headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != expected:
                raise SystemExit(f"HTTP {response.status}")
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            end = time.monotonic()
            if now >= measure_from:
                mine.append(end - now)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    out.put(latencies)


def load(
    port: int, token: str, paths: list[str], concurrency: int, duration: float
) -> dict[str, float]:
    processes = 4 if concurrency % 4 == 0 else 1
    queue: multiprocessing.Queue[list[float]] = multiprocessing.Queue()
    procs = [
        multiprocessing.Process(
            target=_client_process,
            args=(port, token, paths, concurrency // processes, 2.0, duration, queue),
        )
        for _ in range(processes)
    ]
    for proc in procs:
        proc.start()
    latencies = [value for _ in procs for value in queue.get()]
    for proc in procs:
        proc.join()
    latencies.sort()
    cut = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "lookups_per_second": round(len(latencies) / duration, 1),
        "p50_ms": round(cut[49] * 1000, 2),
        "p95_ms": round(cut[94] * 1000, 2),
        "p99_ms": round(cut[98] * 1000, 2),
    }


def start_gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, **ENV}
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
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
        stderr=subprocess.DEVNULL,  # Django logs every 401 of the baseline run
    )
    return process


def wait_ready(port: int, token: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request(
                "GET",
                "/api/v1/ownership/?alertname=Alert1",
                headers={"Authorization": f"Bearer {token}"},
            )
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=18520)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    setup_django()
    random.seed(7)
    token, paths = seed(args.rules)
    lint_seconds = bench_lint()
    from django.db import connections

    connections.close_all()
    server = start_gunicorn(args.port, args.workers, args.threads)
    try:
        wait_ready(args.port, token)
        # Mostly cold: 2,000 distinct alerts, each new to each worker's cache.
        result = load(args.port, token, paths, args.concurrency, args.duration)
        # A router's reality: a few hundred distinct firing alerts, answered from the cache.
        hot = load(args.port, token, paths[:200], args.concurrency, args.duration)
        # The same harness on an answer that needs no database (an anonymous 401 from DRF):
        # what this machine allows right now, to read the figures above against.
        baseline = load(args.port, "", paths, args.concurrency, min(args.duration, 5.0))
    finally:
        server.terminate()
        server.wait(timeout=15)
    report = {
        "rules": args.rules,
        "concurrency": args.concurrency,
        "gunicorn": f"{args.workers} workers x {args.threads} threads (gthread)",
        "ownership_2000_distinct": result,
        "ownership_200_distinct": hot,
        "baseline_anonymous_401": baseline,
        "lint_1000_rules_seconds": round(lint_seconds, 3),
        "goals_met": {
            "lookups_per_second>=1000 (200 distinct)": hot["lookups_per_second"] >= 1000,
            "p99<30ms (200 distinct)": hot["p99_ms"] < 30,
            "lint<2s": lint_seconds < 2,
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
