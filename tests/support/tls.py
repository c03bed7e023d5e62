"""A local HTTPS server with a self-signed certificate, answering like Prometheus's HTTP API.

Used to prove that Steward's outbound clients verify certificates: the certificate is
refused until its file is trusted (REQUESTS_CA_BUNDLE, which requests reads).
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

# An empty answer of each kind, enough for a client to parse.
_ANSWERS: dict[str, Any] = {
    "/api/v1/query_range": {"status": "success", "data": {"resultType": "matrix", "result": []}},
    "/api/v1/rules": {"status": "success", "data": {"groups": []}},
}


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """(certificate, key) for 127.0.0.1, made by the openssl command line."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [  # noqa: S607 - openssl from PATH
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class _Prometheus(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
        body = _ANSWERS.get(self.path.split("?", 1)[0])
        payload = json.dumps(body or {"status": "error"}).encode()
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_GET  # noqa: N815 - query_range may be sent either way

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@contextmanager
def https_prometheus(directory: Path, port: int) -> Iterator[tuple[str, Path]]:
    """(base URL, certificate file) of a fake Prometheus serving HTTPS on 127.0.0.1:port."""
    cert, key = self_signed_certificate(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", port), _Prometheus)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{port}", cert
    finally:
        server.shutdown()
        server.server_close()
