"""A real local HTTP server that records what it receives, for outbound-request tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes = b""
    signature_valid: bool | None = None  # checked when the behaviour has a signing key


@dataclass
class WebhookBehaviour:
    status: int = 200
    location: str = ""  # sent as Location (with a 3xx status)
    body: bytes = b""
    received: list[Received] = field(default_factory=list)
    # Answer these statuses first, one per request, then `status`.
    statuses: list[int] = field(default_factory=list)
    # Verify X-Steward-Signature (runbook automation) with this key.
    signing_key: str = ""
    # Hold each request this long before answering; `max_in_flight` is the most held at once.
    delay: float = 0.0
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Called with each request once recorded, before the answer (a receiver that acts on it).
    on_receive: Callable[[Received], None] | None = None


class WebhookServer(ThreadingHTTPServer):
    behaviour: WebhookBehaviour

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def received(self) -> list[Received]:
        return self.behaviour.received


class _Handler(BaseHTTPRequestHandler):
    server: WebhookServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        behaviour = self.server.behaviour
        valid = None
        if behaviour.signing_key:
            from alerts.automation.signing import signature_verify

            valid = signature_verify(
                behaviour.signing_key,
                timestamp=self.headers.get("X-Steward-Timestamp"),
                body=raw,
                signature_header=self.headers.get("X-Steward-Signature"),
            )
        with behaviour.lock:
            behaviour.in_flight += 1
            behaviour.max_in_flight = max(behaviour.max_in_flight, behaviour.in_flight)
            status = behaviour.statuses.pop(0) if behaviour.statuses else behaviour.status
        try:
            if behaviour.delay:
                time.sleep(behaviour.delay)
            received = Received(
                self.command,
                self.path,
                dict(self.headers),
                json.loads(raw) if raw else None,
                raw,
                valid,
            )
            behaviour.received.append(received)
            if behaviour.on_receive is not None:
                behaviour.on_receive(received)
        finally:
            with behaviour.lock:
                behaviour.in_flight -= 1
        self.send_response(status)
        if behaviour.location:
            self.send_header("Location", behaviour.location)
        self.send_header("Content-Length", str(len(behaviour.body)))
        self.end_headers()
        self.wfile.write(behaviour.body)

    do_POST = _answer  # noqa: N815 (http.server's naming)
    do_GET = _answer  # noqa: N815
    do_PUT = _answer  # noqa: N815
    do_PATCH = _answer  # noqa: N815
    do_DELETE = _answer  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@contextmanager
def webhook_server(ports: range = range(0, 1)) -> Iterator[WebhookServer]:
    """Serve on the first free port of `ports`; by default on one the kernel picks (port 0),
    so that suites running at once never collide."""
    for port in ports:
        try:
            server = WebhookServer(("127.0.0.1", port), _Handler)
            break
        except OSError:
            continue
    else:
        raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")
    server.behaviour = WebhookBehaviour()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
