"""Ingest benchmark: Steward as production runs it, against a minimal Django view, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/steward_ingest \\
    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/ingest.py [--quick]

1. migrate, collect static files (as the image does) and pre-fill the episode table to
   1,000,000 rows (kept between runs: a rate that only holds on an empty table is no rate);
2. start Steward exactly as docker-compose.yml's `web` does: `gunicorn config.wsgi:application
   -c deploy/gunicorn.conf.py` (its workers, threads, draining worker and recycling), DEBUG off,
   SECRET_KEY / ALLOWED_HOSTS / CSRF_TRUSTED_ORIGINS / STEWARD_BASE_URL set, behind-proxy
   settings, JSON logs at INFO (written to a file, as a container's stderr is), multiprocess
   metrics in an empty directory on /dev/shm, Redis cache and Celery broker (nobody consumes
   the queue here: what the web process pays to publish is what is measured);
3. start the yardstick: `bench/minimal/` (no apps, no middleware, persistent connections)
   under gunicorn with the same worker count, threads and keep-alive, upserting the same
   episodes into the same table in one INSERT … ON CONFLICT statement;
4. per case (1 alert per delivery, 50 alerts per delivery; c=8 keep-alive connections for
   --duration seconds each), load Steward, then the minimal view, each with its own fresh
   bodies (new firings, re-sends and resolves of earlier ones); print alerts/s, p50/p95/p99,
   dropped requests (connection errors and non-2xx), the server's CPU per delivery (user +
   system time of the gunicorn master and its workers, recycled ones included, from /proc),
   the load generator's own CPU, and Steward's rate as a share of the minimal view's;
5. verify for both servers that the stored episodes are exactly those acknowledged (one per
   (fingerprint, startsAt), ends_at the earliest resolve, notification_count = times sent);
6. profile Steward's workers with py-spy (if installed: `--py-spy PATH`, or on PATH) during
   a run of 1-alert deliveries and print CPU samples by module and by Steward function.

The load generator is one process of threads on raw keep-alive sockets with pre-built requests
(no HTTP library on the hot path); its CPU per request is printed, so its share of the machine
is known. The machine's load average is printed at start and end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import runpy
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PREFILL = 1_000_000
WEBHOOK = "/api/v1/integrations/alertmanager/"
MINIMAL = "/upsert/"
GROUPS = 25  # alertnames: Alertmanager groups by alertname, so a delivery holds one


@dataclass
class Expected:
    """What the database must hold afterwards, per (fingerprint, startsAt)."""

    ends: dict[tuple[str, str], str | None] = field(default_factory=dict)
    sends: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def record(self, alerts: list[dict[str, object]]) -> None:
        for alert in alerts:
            key = (str(alert["fingerprint"]), str(alert["startsAt"]))
            self.sends[key] += 1
            end = str(alert["endsAt"]) if alert["status"] == "resolved" else None
            if key not in self.ends or self.ends[key] is None:
                self.ends[key] = end
            elif end is not None:
                known = self.ends[key]
                assert known is not None
                self.ends[key] = min(known, end, key=datetime.fromisoformat)


@dataclass
class Pool:
    """Pre-built requests of one run (`run` is a label of every alert in it)."""

    run: str
    requests: list[bytes]
    alerts: list[list[dict[str, object]]]


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()


def prefill() -> int:
    """Fill the episode table to PREFILL rows; return the id of the minimal view's rule."""
    from django.db import connection

    from alerts.models import AlertRule

    rule, _ = AlertRule.objects.get_or_create(alertname="BenchPrefill", matchers_key="")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM alerts_episode WHERE rule_id = %s", [rule.pk])
        have = cursor.fetchone()[0]
        if have >= PREFILL:
            print(f"prefill: {have:,} episodes already there")
            return rule.pk
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
    return rule.pk


def make_token() -> str:
    from tokens.services import token_create

    _, raw = token_create(name=f"bench-{uuid.uuid4().hex[:6]}", scope="ingest")
    return raw


def build_pool(per_delivery: int, deliveries: int, path: str, token: str) -> Pool:
    """Deliveries of `per_delivery` alerts: ~60% new firings, ~20% re-sends, ~20% resolves."""
    from alerts.integrations.alertmanager.fingerprint import fingerprint

    run = uuid.uuid4().hex[:12]
    rng = random.Random(run)
    base = datetime.now(UTC) - timedelta(hours=1)
    sent_by_group: dict[int, list[dict[str, object]]] = defaultdict(list)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nX-Forwarded-Proto: https\r\n"
    )
    pool = Pool(run, [], [])
    serial = 0
    for number in range(deliveries):
        alerts: list[dict[str, object]] = []
        seen: set[object] = set()
        group = number % GROUPS
        sent = sent_by_group[group]
        for _ in range(per_delivery):
            roll = rng.random()
            if sent and roll < 0.2:
                alert = dict(rng.choice(sent))  # a re-send, unchanged
            elif sent and roll < 0.4:
                alert = dict(rng.choice(sent))  # a resolve (maybe of a resolve: fine)
                starts = datetime.fromisoformat(str(alert["startsAt"]))
                alert["status"] = "resolved"
                ends = starts + timedelta(seconds=rng.randint(1, 600))
                alert["endsAt"] = ends.isoformat().replace("+00:00", "Z")
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
            if alert["fingerprint"] in seen:
                continue  # one fingerprint once per delivery, as Alertmanager groups do
            seen.add(alert["fingerprint"])
            alerts.append(alert)
        body = json.dumps(
            {
                "receiver": "steward",
                "status": "firing",
                "alerts": alerts,
                "groupLabels": {"alertname": f"BenchAlert{group}"},
                "commonLabels": {},
                "commonAnnotations": {},
                "externalURL": "http://alertmanager:9093",
                "version": "4",
                "groupKey": f'{{}}:{{alertname="BenchAlert{group}"}}',
                "truncatedAlerts": 0,
            }
        ).encode()
        pool.requests.append(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body)
        pool.alerts.append(alerts)
    return pool


# --- servers ---------------------------------------------------------------------------------


def gunicorn_shape() -> dict[str, int]:
    """Workers, threads and keep-alive of deploy/gunicorn.conf.py under the current env."""
    conf = runpy.run_path(str(ROOT / "deploy/gunicorn.conf.py"))
    return {key: int(conf[key]) for key in ("workers", "threads", "keepalive")}


def production_env(port: int, metrics_dir: str) -> dict[str, str]:
    """docker-compose.yml's `web` environment, pointed at this machine's services."""
    redis = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    env = dict(os.environ)
    for name in ("DEBUG", "DJANGO_SETTINGS_MODULE", "LOG_LEVEL", "CONN_MAX_AGE"):
        env.pop(name, None)
    env.update(
        DEBUG="0",
        SECRET_KEY="bench-" + uuid.uuid4().hex + uuid.uuid4().hex,
        ALLOWED_HOSTS="steward.example.com,web,localhost,127.0.0.1",
        CSRF_TRUSTED_ORIGINS="https://steward.example.com",
        STEWARD_BASE_URL="https://steward.example.com",
        REDIS_URL=redis,
        CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", redis),
        STEWARD_BEHIND_PROXY="1",
        SECURE_SSL_REDIRECT="0",
        STEWARD_METRICS_TOKEN=uuid.uuid4().hex,
        PROMETHEUS_MULTIPROC_DIR=metrics_dir,
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        GUNICORN_BIND=f"127.0.0.1:{port}",
    )
    return env


def start(command: list[str], env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[0]} exited; see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server on {port} did not start; see {log}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stat(pid: str) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None  # a process that just ended


def server_cpu_seconds(master: int) -> float:
    """User + system CPU of gunicorn's master and all its workers so far (Linux /proc).

    Live workers count their own time; workers that exited (recycled) count through the
    master's cutime/cstime once reaped, so recycling loses nothing from the sum."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat(entry.name)
        if fields is None:
            continue
        if entry.name == str(master):
            ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        elif fields[1] == str(master):
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def workers_of(master: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            fields = _stat(entry.name)
            if fields is not None and fields[1] == str(master):
                pids.append(int(entry.name))
    return pids


# --- load ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)  # pool indexes answered 2xx
    dropped: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    client_cpu: float = 0.0
    exhausted: bool = False


_HEAD_END = b"\r\n\r\n"
_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
_CLOSE = re.compile(rb"\r\nconnection:\s*close", re.IGNORECASE)


def _exchange(sock: socket.socket, request: bytes, buffer: bytearray) -> tuple[int, bool]:
    """Send one request, read one response; (status, server closes the connection)."""
    sock.sendall(request)
    while (end := buffer.find(_HEAD_END)) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response")
        buffer += chunk
    head = bytes(buffer[:end])
    match = _LENGTH.search(head)
    if match is None and head[9:10] != b"1" and not head.startswith(b"HTTP/1.1 204"):
        raise SystemExit(f"a response without Content-Length: {head[:300]!r}")
    total = end + 4 + (int(match.group(1)) if match else 0)
    while len(buffer) < total:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the response")
        buffer += chunk
    del buffer[:total]
    return int(head[9:12]), bool(_CLOSE.search(head))


def load(port: int, pool: Pool, concurrency: int, seconds: float) -> Outcome:
    """`concurrency` keep-alive connections post the pool's requests in order until time is up.

    A connection error or a non-2xx answer is a dropped request: it is counted, never retried
    (a real sender would retry; here it would hide the drop), and not expected in the database.
    """
    outcome = Outcome()
    counter = itertools.count()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def connect() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def worker() -> None:
        latencies: list[float] = []
        acknowledged: list[int] = []
        dropped: Counter[str] = Counter()
        sock: socket.socket | None = None
        buffer = bytearray()
        while time.perf_counter() < deadline:
            index = next(counter)
            if index >= len(pool.requests):
                outcome.exhausted = True
                break
            started = time.perf_counter()
            try:
                if sock is None:
                    sock = connect()
                    buffer.clear()
                status, closing = _exchange(sock, pool.requests[index], buffer)
            except OSError as error:
                dropped[type(error).__name__] += 1
                if sock is not None:
                    sock.close()
                sock = None
                continue
            latencies.append(time.perf_counter() - started)
            if 200 <= status < 300:
                acknowledged.append(index)
            else:
                dropped[f"HTTP {status}"] += 1
            if closing:
                sock.close()
                sock = None
        if sock is not None:
            sock.close()
        with lock:
            outcome.latencies.extend(latencies)
            outcome.acknowledged.extend(acknowledged)
            outcome.dropped.update(dropped)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    cpu = time.process_time()
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.elapsed = time.perf_counter() - started
    outcome.client_cpu = time.process_time() - cpu
    outcome.sent = len(outcome.latencies) + sum(
        n for kind, n in outcome.dropped.items() if not kind.startswith("HTTP")
    )
    return outcome


# --- verification ----------------------------------------------------------------------------


def verify(pool: Pool, outcome: Outcome) -> str:
    """Stored episodes of this run == what the server acknowledged; '' when exact."""
    from django.db import connection

    expected = Expected()
    for index in outcome.acknowledged:
        expected.record(pool.alerts[index])
    want = {
        (fp, datetime.fromisoformat(start)): (
            end and datetime.fromisoformat(end),
            expected.sends[fp, start],
        )
        for (fp, start), end in expected.ends.items()
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT fingerprint, starts_at, ends_at, notification_count FROM alerts_episode "
            "WHERE labels->>'bench' = %s",
            [pool.run],
        )
        stored = {
            (fp, starts.astimezone(UTC)): (ends and ends.astimezone(UTC), count)
            for fp, starts, ends, count in cursor.fetchall()
        }
    missing = want.keys() - stored.keys()
    extra = stored.keys() - want.keys()
    wrong = [key for key in want.keys() & stored.keys() if want[key] != stored[key]]
    if missing or extra or wrong:
        example = wrong[:1] and (want[wrong[0]], stored[wrong[0]])
        return (
            f"FAILED: {len(missing)} missing, {len(extra)} extra, {len(wrong)} wrong "
            f"(of {len(want):,}), e.g. {example}"
        )
    return f"stored == sent: {len(want):,} episodes"


# --- report ----------------------------------------------------------------------------------


@dataclass
class Result:
    alerts_per_s: float
    p99_ms: float
    line: str


def measure(
    name: str,
    port: int,
    master: int,
    pool: Pool,
    concurrency: int,
    seconds: float,
) -> Result:
    cpu = server_cpu_seconds(master)
    outcome = load(port, pool, concurrency, seconds)
    cpu = server_cpu_seconds(master) - cpu
    answered = len(outcome.latencies)
    alerts = sum(len(pool.alerts[index]) for index in outcome.acknowledged)
    q = statistics.quantiles(outcome.latencies, n=100) if answered > 1 else [0.0] * 99
    dropped = sum(outcome.dropped.values())
    check = verify(pool, outcome)
    rate = alerts / outcome.elapsed
    line = (
        f"  {name:<10} {rate:>8,.0f} alerts/s {answered / outcome.elapsed:>7,.0f} req/s   "
        f"p50 {q[49] * 1000:5.1f}  p95 {q[94] * 1000:5.1f}  p99 {q[98] * 1000:5.1f} ms   "
        f"server CPU {cpu * 1000 / max(answered, 1):5.2f} ms/delivery   "
        f"dropped {dropped}{' ' + str(dict(outcome.dropped)) if dropped else ''}   "
        f"[{answered:,} deliveries in {outcome.elapsed:.1f} s; load generator "
        f"{outcome.client_cpu * 1000 / max(answered, 1):.2f} ms CPU/request"
        f"{'; POOL EXHAUSTED' if outcome.exhausted else ''}]   {check}"
    )
    print(line, flush=True)
    return Result(rate, q[98] * 1000, line)


def estimate_rate(port: int, per_delivery: int, path: str, token: str, concurrency: int) -> float:
    """Deliveries/s over a short warm-up (also warms the workers' connections and caches)."""
    pool = build_pool(per_delivery, 4000 // per_delivery + 200, path, token)
    outcome = load(port, pool, concurrency, 3.0)
    return len(outcome.latencies) / outcome.elapsed


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- profile ---------------------------------------------------------------------------------

_FRAME = re.compile(r"^(?P<func>.*) \((?P<path>[^()]*?)(?::\d+)?\)$")


def _module(path: str) -> str:
    """A frame's file as a module group: `django.db`, `psycopg`, `alerts.ingest.services`…"""
    if "site-packages/" in path:
        parts = path.split("site-packages/", 1)[1].removesuffix(".py").split("/")
        depth = 2 if parts[0] in {"django", "prometheus_client", "celery", "kombu"} else 1
        return ".".join(parts[:depth])
    if path.startswith(str(ROOT)) or not path.startswith("/"):
        return path.removeprefix(str(ROOT) + "/").removesuffix(".py").replace("/", ".")
    if "/lib/python3" in path:
        return "stdlib." + path.rsplit("/", 1)[-1].removesuffix(".py")
    return path


def profile(
    py_spy: str,
    master: int,
    port: int,
    token: str,
    seconds: float,
    c: int,
    *,
    gil: bool,
    alerts: int = 1,
) -> None:
    """py-spy over all workers. `gil`: only threads holding the GIL (Python's CPU time); else
    every thread not idle, which here includes threads waiting on PostgreSQL and Redis sockets
    (py-spy does not see psycopg's waits as idle): a wall-time view of the round trips."""
    out = Path(tempfile.mkdtemp(prefix="steward-bench-")) / "profile.txt"
    pool = build_pool(alerts, 40000 // alerts, WEBHOOK, token)
    recorder = subprocess.Popen(
        [
            py_spy,
            "record",
            "--pid",
            str(master),
            "--subprocesses",
            "--format",
            "raw",
            "--rate",
            "250",
            "--nonblocking",
            "--duration",
            str(int(seconds)),
            *(["--gil"] if gil else []),
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(1.0)
    outcome = load(port, pool, c, seconds - 1.5)
    _, errors = recorder.communicate(timeout=60)
    if not out.exists():
        print(f"  py-spy recorded nothing: {errors.decode()[-300:]}")
        return
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    steward: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [m for f in stack.split(";") if (m := _FRAME.match(f))]
        if not frames:
            continue
        total += count
        modules = [_module(m.group("path")) for m in frames]
        self_time[modules[-1]] += count
        for module in set(modules):
            inclusive[module] += count
        # The innermost Steward frame: where Steward's own code spends (itself or by calling).
        for m, module in zip(reversed(frames), reversed(modules), strict=True):
            if module.split(".")[0] in {"alerts", "config", "core", "ops", "tokens", "api"}:
                steward[f"{module}.{m.group('func')}"] += count
                break
    deliveries = len(outcome.latencies)
    kind = "threads holding the GIL" if gil else "busy or waiting threads"
    print(
        f"  {total:,} samples (250/s, {kind}) over {deliveries:,} {alerts}-alert "
        f"deliveries ({deliveries / max(outcome.elapsed, 1e-9):,.0f}/s); raw stacks: {out}"
    )

    def show(title: str, counts: Counter[str], n: int) -> None:
        print(f"  {title}:")
        for name, count in counts.most_common(n):
            print(f"    {100 * count / total:5.1f} %  {name}")

    show("self time by module (leaf frame)", self_time, 18)
    show("inclusive time by module (anywhere on the stack)", inclusive, 18)
    show("innermost Steward function on the stack", steward, 15)


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=18200, help="Steward; the yardstick +1")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=25.0, help="seconds per case")
    parser.add_argument("--quick", action="store_true", help="5 s per case")
    parser.add_argument("--cases", default="1,50", help="alerts per delivery, comma-separated")
    parser.add_argument("--py-spy", default=os.environ.get("PY_SPY") or shutil.which("py-spy"))
    parser.add_argument("--profile-seconds", type=float, default=12.0)
    parser.add_argument("--profile-alerts", type=int, default=1, help="alerts per delivery")
    parser.add_argument("--no-minimal", action="store_true", help="Steward only")
    args = parser.parse_args()
    seconds = 5.0 if args.quick else args.duration
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (e.g. steward_ingest).")
    now = datetime.now(UTC)
    print(f"load average at start: {loadavg()}  ({os.cpu_count()} CPUs)  {now:%F %T} UTC")
    _django()
    setup_env = dict(os.environ, DEBUG="1")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        check=True,
        env=setup_env,
    )
    rule_id = prefill()
    token = make_token()
    work = Path(tempfile.mkdtemp(prefix="steward-bench-"))
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else work  # noqa: S108 (as the tmpfs)
    metrics_dir = tempfile.mkdtemp(prefix="steward-metrics-", dir=shm)
    env = production_env(args.port, metrics_dir)
    if not (ROOT / "staticfiles" / "staticfiles.json").exists():
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            check=True,
            env=env,
        )
    shape = gunicorn_shape()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    print(
        f"Steward: gunicorn -c deploy/gunicorn.conf.py ({shape['workers']} workers x "
        f"{shape['threads']} threads, draining worker, max_requests recycling), DEBUG=0, JSON "
        f"logs at INFO -> {work / 'steward.log'}, metrics in {metrics_dir}, Redis "
        f"{env['REDIS_URL']} (cache) + {env['CELERY_BROKER_URL']} (broker)"
    )
    steward = start(
        [gunicorn, "config.wsgi:application", "-c", "deploy/gunicorn.conf.py"],
        env,
        args.port,
        work / "steward.log",
    )
    minimal = None
    stand_in = WorkerStandIn()
    try:
        if not args.no_minimal:
            minimal_env = dict(
                os.environ,
                BENCH_RULE_ID=str(rule_id),
                BENCH_TOKEN=token,
                DJANGO_SETTINGS_MODULE="bench.minimal.settings",
            )
            minimal = start(
                [
                    gunicorn,
                    "bench.minimal.wsgi:application",
                    f"--bind=127.0.0.1:{args.port + 1}",
                    f"--workers={shape['workers']}",
                    "--worker-class=gthread",
                    f"--threads={shape['threads']}",
                    f"--keep-alive={shape['keepalive']}",
                    "--log-level=warning",
                ],
                minimal_env,
                args.port + 1,
                work / "minimal.log",
            )
            print(
                f"yardstick: bench/minimal (no middleware, one INSERT … ON CONFLICT), "
                f"same workers/threads/keep-alive, port {args.port + 1}"
            )
        ratios = []
        stand_in.start()
        print(
            "a stand-in for the Celery worker deletes each week's evaluation-pending key when "
            "its debounced run is due, as the worker does when the run starts"
        )
        for per_delivery in (int(n) for n in args.cases.split(",")):
            print(
                f"\n{per_delivery} alert(s) per delivery, c={args.concurrency}, "
                f"{seconds:.0f} s each (load {loadavg()}):"
            )
            servers = [("Steward", WEBHOOK, args.port, steward)]
            if minimal is not None:
                servers.append(("minimal", MINIMAL, args.port + 1, minimal))
            results = {}
            for name, path, port, process in servers:
                rate = estimate_rate(port, per_delivery, path, token, args.concurrency)
                size = int(rate * seconds * 4) + 40000 // per_delivery
                pool = build_pool(per_delivery, size, path, token)
                results[name] = measure(name, port, process.pid, pool, args.concurrency, seconds)
            if minimal is not None:
                ratio = results["Steward"].alerts_per_s / results["minimal"].alerts_per_s
                ratios.append((per_delivery, ratio))
                print(f"  Steward / minimal view: {100 * ratio:.0f} %")
        print(f"\nload average after the cases: {loadavg()}")
        log = (work / "steward.log").read_text(errors="replace").splitlines()
        print(f"Steward log: {len(log):,} JSON lines (access lines included)")
        if args.py_spy:
            for gil in (True, False):
                view = "Python CPU (--gil)" if gil else "wall time incl. database waits"
                print(
                    f"\nprofile of Steward, {args.profile_alerts}-alert deliveries, "
                    f"c={args.concurrency}: {view}"
                )
                profile(
                    args.py_spy,
                    steward.pid,
                    args.port,
                    token,
                    args.profile_seconds,
                    args.concurrency,
                    gil=gil,
                    alerts=args.profile_alerts,
                )
        else:
            print("\nno profile: py-spy not found (pip install py-spy, or --py-spy PATH)")
    finally:
        stand_in.halt.set()
        stop(steward)
        if minimal is not None:
            stop(minimal)
        shutil.rmtree(metrics_dir, ignore_errors=True)
        _forget_queued_tasks(env["CELERY_BROKER_URL"], env["REDIS_URL"])
    print(f"load average at end: {loadavg()}")


class WorkerStandIn(threading.Thread):
    """What a punctual Celery worker does to the debounce keys: the evaluation queued for a
    week deletes the week's pending key when it starts (alerts/tasks.py). Nobody runs the
    evaluations here; without this, a key would outlive its run's due time and every delivery
    would ask Redis twice (a worker that is late does that to production too)."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.halt = threading.Event()
        self.started_runs = 0

    def run(self) -> None:
        from django.core.cache import cache

        from alerts.tasks import PENDING_KEY
        from core.weeks import week_of

        while not self.halt.wait(0.5):
            now = datetime.now(UTC)
            for week in {week_of(now), week_of(now - timedelta(hours=1))}:
                key = PENDING_KEY.format(week=week)
                starts = cache.get(key)
                if isinstance(starts, float) and starts <= time.time():
                    cache.delete(key)
                    self.started_runs += 1


def _forget_queued_tasks(broker: str, cache: str) -> None:
    """Nobody consumes the bench's evaluation tasks: drop them and their debounce keys, so a
    later worker on the same Redis database does not evaluate the bench's weeks."""
    import redis

    redis.Redis.from_url(broker).delete("celery")
    client = redis.Redis.from_url(cache)
    keys = list(client.scan_iter("*steward:evaluation-pending:*"))
    if keys:
        client.delete(*keys)


if __name__ == "__main__":
    main()
