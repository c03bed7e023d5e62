"""Time from an Alertmanager webhook delivery to the automatic action's request (issue 16).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_h2 \\
    REDIS_URL=redis://127.0.0.1:6379/2 .venv/bin/python bench/automation_latency.py

The production shape: Steward served by gunicorn with deploy/gunicorn.conf.py and
docker-compose's environment (bench/ingest.py's `production_env`, DEBUG off, JSON logs, Redis
cache and broker) and a real `celery -A config worker` (concurrency 2, as compose) with the same
environment. A rule's runbook has an AUTOMATIC, low-risk action, promoted out of dry run, with
delay 0, no verification and budgets so high that no run is refused; its URL is a receiver in
this process that verifies every request's HMAC signature.

--triggers times (after --warmup untimed ones), one after the other: POST a delivery with one
new firing series of the rule (a new episode) on a keep-alive connection, and wait for the
action's request carrying that series' serial at the receiver. Prints p50/p99/max of
delivery to request (what the issue asks), and its parts, from the run's timestamps:
- the webhook's answer (gunicorn, the delivery's transaction, publishing the trigger task);
- answer to the run's record (first broker hop, the trigger task's checks);
- the guardrail transaction (locks, budgets, run record, audit events);
- its commit, the execution task's publish on commit, the second broker hop, to the claim;
- the claim transaction (lock the run, check the switch, render and sign, the REQUEST event);
- its commit and the signed HTTP request to the receiver;
then the overhead per guarded run (bench/automation.py, in this process, eager) and the load
average at start and end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.automation import (  # noqa: E402
    AUTOMATION_ENV,
    bench_catalog,
    measure_overhead,
    overhead_report,
    pct,
)
from bench.ingest import (  # noqa: E402
    WEBHOOK,
    _django,
    _forget_queued_tasks,
    loadavg,
    make_token,
    production_env,
    start,
    stop,
)
from tests.support.webhook import Received, webhook_server  # noqa: E402

ALERTNAME = "BenchAutomationLatency"
SIGNING_KEY = "bench-latency-signing-key"
BODY = '{"serial": {{ labels.serial }}, "episode": {{ episode.id }}, "model": {{ labels.model }}}'


@dataclass
class Arrivals:
    """Requests the receiver got, by serial: wall-clock arrival and signature validity."""

    at: dict[int, float] = field(default_factory=dict)
    valid: dict[int, bool] = field(default_factory=dict)
    events: dict[int, threading.Event] = field(default_factory=dict)

    def expect(self, serial: int) -> threading.Event:
        self.events[serial] = threading.Event()
        return self.events[serial]

    def record(self, request: Received) -> None:
        serial = int(request.body["serial"])
        self.at[serial] = time.time()
        self.valid[serial] = request.signature_valid is True
        event = self.events.get(serial)
        if event is not None:
            event.set()


def delivery(run: str, serial: int) -> bytes:
    """An Alertmanager 0.25 webhook body with one new firing series of the rule."""
    from alerts.integrations.alertmanager.fingerprint import fingerprint

    labels = {
        "alertname": ALERTNAME,
        "bench": run,
        "serial": str(serial),
        "model": "fraud-scorer",
        "severity": "page",
    }
    alert = {
        "status": "firing",
        "labels": labels,
        "annotations": {"summary": "fraud scorer p99 latency above 500 ms"},
        "startsAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint(labels),
    }
    return json.dumps(
        {
            "receiver": "steward",
            "status": "firing",
            "alerts": [alert],
            "groupLabels": {"alertname": ALERTNAME},
            "commonLabels": labels,
            "commonAnnotations": alert["annotations"],
            "externalURL": "http://alertmanager:9093",
            "version": "4",
            "groupKey": f'{{}}:{{alertname="{ALERTNAME}", serial="{serial}"}}',
            "truncatedAlerts": 0,
        }
    ).encode()


def catalog(receiver_url: str) -> int:
    """A team, runbook and rule with one automatic action to the receiver; returns its id.
    Empties the automation tables and the rule's episodes (the benchmark's own database)."""
    from alerts.automation import services
    from alerts.automation.models import Action

    team, user, runbook, _rule = bench_catalog("bench-latency", ALERTNAME)
    action = services.action_create(
        user=user,
        team_id=team.pk,
        runbook_id=runbook.pk,
        name="shift traffic to the fallback model",
        url=f"{receiver_url}/shift",
        signing_key=SIGNING_KEY,
        body_template=BODY,
        trigger=Action.Trigger.AUTOMATIC,
        risk=Action.Risk.LOW,
        auto_delay_seconds=0,
        verify_resolution_seconds=0,
        max_runs_per_hour=100000,
        max_concurrent=100000,
        cooldown_seconds=0,
    )
    services.action_promote(action=action, user=user)
    return action.pk


def start_worker(env: dict[str, str], log: Path, concurrency: int) -> subprocess.Popen[bytes]:
    """docker-compose's `worker` command with the web's environment; returns once ready."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=INFO"]
            + [f"--concurrency={concurrency}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"celery worker exited; see {log}")
        if "ready." in log.read_text(errors="replace"):
            return process
        time.sleep(0.2)
    stop(process)
    raise SystemExit(f"celery worker not ready in 60 s; see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--triggers", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--port", type=int, default=22300, help="Steward (gunicorn)")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--overhead-runs", type=int, default=200)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (e.g. steward_h2).")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/2")
    os.environ.pop("CELERY_BROKER_URL", None)  # this process runs eager (the overhead part)
    os.environ.update(AUTOMATION_ENV)
    os.environ["STEWARD_SECRETS_KEY"] = "bench-latency-secrets-" + uuid.uuid4().hex
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    now = datetime.now(UTC)
    print(f"load average at start: {loadavg()}  ({os.cpu_count()} CPUs)  {now:%F %T} UTC")
    _django()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        check=True,
        env=dict(os.environ, DEBUG="1"),
    )
    from django.db.models import Count

    from alerts.automation.models import ActionRun, AutomationEvent

    token = make_token()
    run_label = uuid.uuid4().hex[:12]
    work = Path(tempfile.mkdtemp(prefix="steward-automation-latency-"))
    metrics_dir = tempfile.mkdtemp(prefix="steward-metrics-", dir="/dev/shm")  # noqa: S108
    env = production_env(args.port, metrics_dir)
    arrivals = Arrivals()
    with webhook_server() as receiver:
        receiver.behaviour.signing_key = SIGNING_KEY
        receiver.behaviour.on_receive = arrivals.record
        action_id = catalog(receiver.url)
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        steward = start(
            [gunicorn, "config.wsgi:application", "-c", "deploy/gunicorn.conf.py"],
            env,
            args.port,
            work / "steward.log",
        )
        worker = None
        try:
            worker = start_worker(env, work / "worker.log", args.worker_concurrency)
            print(
                f"Steward: gunicorn -c deploy/gunicorn.conf.py on :{args.port}, DEBUG=0, "
                f"Redis {env['REDIS_URL']} (cache and broker); celery worker "
                f"--concurrency={args.worker_concurrency}; logs in {work}"
            )
            sent: dict[int, float] = {}
            answered: dict[int, float] = {}
            connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=30)
            headers = {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {token}",
                "X-Forwarded-Proto": "https",
            }
            total = args.warmup + args.triggers
            for serial in range(total):
                body = delivery(run_label, serial)
                arrived = arrivals.expect(serial)
                sent[serial] = time.time()
                connection.request("POST", WEBHOOK, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                answered[serial] = time.time()
                if response.status != 200:
                    raise SystemExit(f"delivery {serial}: HTTP {response.status}")
                if not arrived.wait(30):
                    raise SystemExit(f"no request for delivery {serial} within 30 s; see {work}")
            connection.close()
        finally:
            if worker is not None:
                stop(worker)
            stop(steward)
            _forget_queued_tasks(env["CELERY_BROKER_URL"], env["REDIS_URL"])

        # Moments of each run (the worker's clock is this machine's): its record (the start
        # of the trigger's guardrail transaction), its QUEUED event (the end of it), the claim
        # by the execution task, and its REQUEST event (the claim transaction's end).
        moments: dict[int, dict[str, float]] = {}
        for run_id, labels, created, started in ActionRun.objects.filter(
            action_id=action_id
        ).values_list("pk", "episode__labels", "created_at", "started_at"):
            moments[run_id] = {
                "serial": int(labels["serial"]),
                "record": created.timestamp(),
                "claimed": started.timestamp(),
            }
        for run_id, kind, at in AutomationEvent.objects.filter(
            run__action_id=action_id, kind__in=["queued", "request"]
        ).values_list("run_id", "kind", "at"):
            moments[run_id][kind] = at.timestamp()
        by_serial = {int(m["serial"]): m for m in moments.values()}
        states = dict(
            ActionRun.objects.filter(action_id=action_id)
            .values("state")
            .annotate(n=Count("id"))
            .values_list("state", "n")
        )
    assert states == {"succeeded": total}, states
    assert all(arrivals.valid.values()) and len(arrivals.valid) == total
    timed = range(args.warmup, total)

    def part(start: Callable[[int], float], end: Callable[[int], float]) -> list[float]:
        return [end(s) - start(s) for s in timed]

    def at(name: str) -> Callable[[int], float]:
        return lambda s: by_serial[s][name]

    parts = {
        "delivery to request (total)": part(sent.__getitem__, arrivals.at.__getitem__),
        "  webhook answer": part(sent.__getitem__, answered.__getitem__),
        "  answer to run record": part(answered.__getitem__, at("record")),
        "  guardrail transaction": part(at("record"), at("queued")),
        "  commit, publish, to the claim": part(at("queued"), at("claimed")),
        "  claim transaction": part(at("claimed"), at("request")),
        "  commit, signed request": part(at("request"), arrivals.at.__getitem__),
    }
    print(
        f"\n{args.triggers} automatic runs ({args.warmup} warm-up ones untimed), one at a time, "
        f"all succeeded, none refused, every signature valid (load {loadavg()}):"
    )
    for name, values in parts.items():
        print(
            f"  {name:34s} p50 {pct(values, 0.5):7.1f} ms  p99 {pct(values, 0.99):7.1f} ms"
            f"  max {max(values) * 1000:7.1f} ms  mean {statistics.mean(values) * 1000:7.1f} ms"
        )
    print(f"\noverhead per guarded run ({args.overhead_runs} runs, in-process, eager):")
    overhead_report(measure_overhead(args.overhead_runs))
    print(f"\nload average at end: {loadavg()}")


if __name__ == "__main__":
    main()
