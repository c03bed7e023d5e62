"""Time from a mute decision to its silence in Alertmanager (issue 14).

Starts Debian's Alertmanager 0.25 on 127.0.0.1:PORT, records N mute decisions one after the
other with `decision_record` (as the review page does) and, for each, polls Alertmanager's
`GET /api/v2/silences` every 5 ms until the silence carrying the decision's link is active.
Reports p50 and max.

Two modes:
- `eager` (the embedded default, no broker): the silence is made in-process right after the
  decision's commit;
- `worker`: CELERY_BROKER_URL on Redis, a real `celery worker` subprocess picks up the task
  queued on commit (needs PostgreSQL so the worker shares the database).

Usage:
  DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_h2 \
    .venv/bin/python bench/mute_latency.py --mode worker
  .venv/bin/python bench/mute_latency.py --mode eager     # SQLite file in a temp dir
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=["eager", "worker"], default="eager")
    parser.add_argument("--decisions", type=int, default=20)
    parser.add_argument("--port", type=int, default=22201)
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/2")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="steward-mute-bench-"))
    am_url = f"http://127.0.0.1:{args.port}"
    os.environ.update({"DEBUG": "1", "ALERTMANAGER_URL": am_url, "LOG_LEVEL": "WARNING"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.mode == "worker":
        os.environ["CELERY_BROKER_URL"] = args.broker
        if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
            sys.exit("--mode worker needs DATABASE_URL=postgres://… (the worker shares it)")
    else:
        os.environ.pop("CELERY_BROKER_URL", None)
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}")

    import django

    django.setup()
    import requests
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone

    from alerts.models import AlertRule, Decision
    from alerts.review.carry_out import decision_url
    from alerts.review.services import decision_record
    from core.weeks import week_of
    from fleet.models import Team
    from tests.support.processes import AlertmanagerServer, CeleryWorker

    call_command("migrate", verbosity=0)
    am = AlertmanagerServer(args.port, workdir / "am")
    am.start()
    worker = None
    if args.mode == "worker":
        worker = CeleryWorker(
            broker_url=args.broker,
            env={"ALERTMANAGER_URL": am_url, "DATABASE_URL": os.environ["DATABASE_URL"]},
        )
        worker.start(workdir / "worker.log")
        worker.wait_ready()
    try:
        team, _ = Team.objects.get_or_create(slug="bench-mute", defaults={"name": "Bench mute"})
        user, _ = User.objects.get_or_create(username="bench-muter", defaults={"is_staff": True})
        stamp = int(time.time())
        rules = [
            AlertRule.objects.create(
                alertname=f"BenchMute{stamp}x{i}", owner_team=team, severity="page"
            )
            for i in range(args.decisions)
        ]
        timings = []
        for rule in rules:
            began = time.perf_counter()
            now = timezone.now()
            decision = decision_record(
                user=user,
                rule=rule,
                week=week_of(now),
                kind=Decision.Kind.MUTE,
                note="bench",
                mute_until=now + timedelta(days=1),
            )
            link = decision_url(decision)
            deadline = time.monotonic() + 30
            while True:
                silences = requests.get(f"{am_url}/api/v2/silences", timeout=5).json()
                if any(link in s["comment"] and s["status"]["state"] == "active" for s in silences):
                    break
                if time.monotonic() > deadline:
                    sys.exit(f"no silence for decision {decision.pk} within 30 s")
                time.sleep(0.005)
            timings.append(time.perf_counter() - began)
        timings_ms = sorted(t * 1000 for t in timings)
        print(
            f"mode={args.mode}: {len(timings_ms)} mute decisions → silence active in "
            f"Alertmanager: p50 {statistics.median(timings_ms):.0f} ms, "
            f"max {timings_ms[-1]:.0f} ms, min {timings_ms[0]:.0f} ms; in order: "
            + ", ".join(f"{t * 1000:.0f}" for t in timings)
        )
        AlertRule.objects.filter(pk__in=[r.pk for r in rules]).delete()
    finally:
        if worker is not None:
            worker.stop()
        am.stop()


if __name__ == "__main__":
    main()
