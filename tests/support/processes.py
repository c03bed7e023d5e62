"""Real services a test starts and stops itself: a Redis server and a Celery worker.

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
from pathlib import Path

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
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None
