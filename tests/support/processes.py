"""Real services a test starts and stops itself: a Redis server, a Celery worker, Alertmanager
and Prometheus.

Built for the fault tests (Redis stopped during deliveries, a worker killed mid-evaluation):
each runs on 127.0.0.1 on a port from `free_port()`, and is always stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from django.db import connections

ROOT = Path(__file__).resolve().parents[2]


def serve_then_close(server: socketserver.BaseServer) -> None:
    """Target of a thread that serves Django in-process: serve until `server.shutdown()`,
    then close the database connections this thread opened. They are the thread's own (no one
    else closes them) and, with CONN_MAX_AGE, one left open keeps the PostgreSQL test database
    from being dropped at the end of the run."""
    try:
        server.serve_forever()
    finally:
        connections.close_all()


def free_ports(count: int) -> list[int]:
    """`count` different ports on 127.0.0.1 that nothing listens on, picked by the kernel
    (bind to port 0, all held until every one is picked), so that two test suites running at
    once on one machine never reach for the same number. Also "a port where nobody listens"."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def free_port() -> int:
    return free_ports(1)[0]


def wait_for_port(port: int, *, up: bool, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                listening = True
        except OSError:
            listening = False
        if listening == up:
            return True
        time.sleep(0.05)
    return False


def terminate(process: subprocess.Popen[Any], *, kill: Callable[[], object]) -> None:
    """SIGTERM, up to 15 s to exit, then `kill()`."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        kill()


class RedisServer:
    """A throwaway redis-server without persistence; stop() and start() simulate an outage."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("redis-server") is not None

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_for_port(self.port, up=True):
            self.stop()
            raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        self.process.wait(timeout=10)
        self.process = None
        wait_for_port(self.port, up=False)


class CeleryWorker:
    """`celery -A config worker` in a subprocess with the given broker and environment."""

    def __init__(
        self,
        *,
        broker_url: str,
        env: dict[str, str] | None = None,
        concurrency: int = 1,
        include: tuple[str, ...] = (),
    ) -> None:
        self.broker_url = broker_url
        self.env = env or {}
        self.concurrency = concurrency
        self.include = include
        self.process: subprocess.Popen[str] | None = None
        self.log_path: Path | None = None

    def start(self, log_path: Path) -> None:
        assert self.process is None, "already running"
        self.log_path = log_path
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "1",
            "LOG_FORMAT": "json",
            "CELERY_BROKER_URL": self.broker_url,
            **self.env,
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            f"--concurrency={self.concurrency}",
            "--pool=prefork",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        if self.include:
            command.append("--include=" + ",".join(self.include))
        with log_path.open("w") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited:\n{self.log()}")
            if "ready." in self.log():
                return
            time.sleep(0.1)
        raise RuntimeError(f"celery worker not ready in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole worker (parent and pool children), as a crash would."""
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process, kill=self.kill)
        self.process = None


PROMETHEUS_BINARY = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL_BINARY = shutil.which("promtool") or "/usr/bin/promtool"


def openmetrics(series: dict[str, list[tuple[float, float]]], *, metric_type: str = "gauge") -> str:
    """OpenMetrics text of `{'name{labels}': [(unix seconds, value), ...]}` for promtool's
    backfill. Samples of one series must be in time order; all series of one metric name are
    written together after its TYPE line."""
    by_name: dict[str, list[str]] = {}
    for selector, samples in series.items():
        name = selector.split("{", 1)[0]
        lines = by_name.setdefault(name, [])
        lines += [f"{selector} {value:g} {ts:.3f}" for ts, value in samples]
    out = []
    for name, lines in by_name.items():
        out.append(f"# TYPE {name} {metric_type}")
        out += lines
    out.append("# EOF")
    return "\n".join(out) + "\n"


class PrometheusServer:
    """A real Prometheus 2.42 on 127.0.0.1:`port`, optionally with history backfilled into its
    data directory (`promtool tsdb create-blocks-from openmetrics`) before it starts, so that
    range queries over past days answer without waiting for scrapes. Nothing is scraped.

    Retention is relative to the newest block, so fixed past dates stay queryable."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return Path(PROMETHEUS_BINARY).exists() and Path(PROMTOOL_BINARY).exists()

    def backfill(self, text: str) -> None:
        source = self.workdir / "backfill.om"
        source.write_text(text)
        subprocess.run(
            [
                PROMTOOL_BINARY,
                "tsdb",
                "create-blocks-from",
                "openmetrics",
                "--quiet",
                str(source),
                str(self.workdir / "data"),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self, *, config: str = "global: {}\n") -> None:
        assert self.process is None, "already running"
        (self.workdir / "prometheus.yml").write_text(config)
        self.process = subprocess.Popen(
            [
                PROMETHEUS_BINARY,
                f"--config.file={self.workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--storage.tsdb.retention.time=3650d",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "prometheus.log").open("wb"),
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"prometheus not ready in 30 s:\n{self.log()}")

    def log(self) -> str:
        path = self.workdir / "prometheus.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            process = self.process
            terminate(process, kill=lambda: (process.kill(), process.wait(timeout=5)))
        self.process = None


class AlertmanagerServer:
    """Debian's Alertmanager 0.25 on 127.0.0.1 with a throwaway storage directory.

    `cluster_port` makes it gossip on that port (and `peers` joins others, as an HA pair does);
    without it clustering is off. A receiver that goes nowhere is configured unless `config`
    (a dict written as YAML) says otherwise.
    """

    BINARY = "/usr/bin/prometheus-alertmanager"

    def __init__(
        self,
        port: int,
        workdir: Path,
        *,
        cluster_port: int | None = None,
        peers: tuple[int, ...] = (),
        config: dict[str, object] | None = None,
    ) -> None:
        self.port = port
        self.workdir = workdir
        self.cluster_port = cluster_port
        self.peers = peers
        self.config = config or {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def available(cls) -> bool:
        return Path(cls.BINARY).exists()

    def start(self) -> None:
        import yaml

        assert self.process is None, "already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "alertmanager.yml"
        config.write_text(yaml.safe_dump(self.config))
        command = [
            self.BINARY,
            f"--config.file={config}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        if self.cluster_port is None:
            command.append("--cluster.listen-address=")
        else:
            command += [
                f"--cluster.listen-address=127.0.0.1:{self.cluster_port}",
                f"--cluster.advertise-address=127.0.0.1:{self.cluster_port}",
                "--cluster.gossip-interval=50ms",
                "--cluster.pushpull-interval=1s",
                *(f"--cluster.peer=127.0.0.1:{peer}" for peer in self.peers),
            ]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "alertmanager.log").open("wb"),
        )
        if not self.wait_ready():
            log = (self.workdir / "alertmanager.log").read_text(errors="replace")[-2000:]
            self.stop()
            raise RuntimeError(f"Alertmanager did not start on port {self.port}:\n{log}")

    def wait_ready(self, timeout: float = 15.0) -> bool:
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                return False
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.1)
        return False

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
        wait_for_port(self.port, up=False)


PROMETHEUS_BINARY = "/usr/bin/prometheus"


def webhook_route_config(
    url: str,
    *,
    group_wait: str = "1s",
    group_interval: str = "1s",
    repeat_interval: str = "2s",
    bearer_token: str = "",
) -> dict[str, object]:
    """An AlertmanagerServer `config` sending every alert to one webhook with short waits (so a
    test sees repeated notifications every few seconds), with `bearer_token` if given."""
    webhook: dict[str, object] = {"url": url, "send_resolved": True}
    if bearer_token:
        webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": bearer_token}}
    return {
        "route": {
            "receiver": "hook",
            "group_by": ["alertname"],
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": [{"name": "hook", "webhook_configs": [webhook]}],
    }


def _wait_http_ready(url: str, process: subprocess.Popen[bytes], what: str) -> None:
    import requests

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready at {url}")


class AlertingPrometheus:
    """Debian's Prometheus on 127.0.0.1:`port` evaluating `rules` (a rule-file mapping) every
    second and sending alerts to the Alertmanager at `alertmanager_port`; `scrape_targets`
    (host:port of /metrics endpoints) are scraped every second as job "targets"."""

    def __init__(
        self,
        port: int,
        workdir: Path,
        *,
        rules: Mapping[str, Any],
        alertmanager_port: int,
        scrape_targets: Sequence[str] = (),
    ) -> None:
        self.port = port
        self.workdir = workdir
        self.url = f"http://127.0.0.1:{port}"
        self.rules = rules
        self.alertmanager_port = alertmanager_port
        self.scrape_targets = list(scrape_targets)
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def available() -> bool:
        return Path(PROMETHEUS_BINARY).exists()

    def start(self) -> None:
        import yaml

        assert self.process is None, "already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "rules.yml").write_text(yaml.safe_dump(self.rules))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(self.workdir / "rules.yml")],
            "alerting": {
                "alertmanagers": [
                    {"static_configs": [{"targets": [f"127.0.0.1:{self.alertmanager_port}"]}]}
                ]
            },
        }
        if self.scrape_targets:
            config["scrape_configs"] = [
                {"job_name": "targets", "static_configs": [{"targets": self.scrape_targets}]}
            ]
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.process = subprocess.Popen(
            [
                PROMETHEUS_BINARY,
                f"--config.file={self.workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.workdir / 'prom-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                # Resend firing alerts every second (default 1 m): the first sends happen
                # before Alertmanager is discovered and are lost.
                "--rules.alert.resend-delay=1s",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / "prometheus.log").open("ab"),
        )
        try:
            _wait_http_ready(f"{self.url}/-/ready", self.process, "Prometheus")
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
