"""Requests to URLs that users set (team chat webhooks, runbook automation actions).

Every such request goes through `send` (or `post_json`), and every such URL field validates with
`validate_outbound_url`, so that one policy decides where Steward may connect:

1. At save time the URL must be http(s) and its host must not be an address (or a name such as
   `localhost` or a cloud metadata host) inside a refused range.
2. At send time the host is resolved, and *every* address it resolves to must pass the policy;
   the connection is then made to that checked address (TLS still verifies the name), so a
   DNS answer that changes between the check and the connect cannot reach inside.
3. Redirects are never followed, connect and read are bounded by a timeout and an overall
   deadline, and at most `MAX_RESPONSE_BYTES` of the answer are read.

Refused: loopback, link-local (169.254.0.0/16 holds the cloud metadata service), private
RFC 1918 and unique-local IPv6, shared (CGNAT), multicast, reserved and unspecified addresses,
in short anything that is not globally routable, unless STEWARD_OUTBOUND_ALLOW_NETWORKS names
it (e.g. the chat relay of an intranet).

urllib3 is used directly rather than `requests`: its connection pools accept the address to
connect to separately from the name used for SNI, certificate checks and the Host header.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError

TIMEOUT_SECONDS = 5.0
MAX_RESPONSE_BYTES = 64 * 1024
_CHUNK_BYTES = 8 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Names that stand for a refused address even where they do not resolve (at save time).
_NAMED_ADDRESSES = {
    "localhost": ipaddress.ip_address("127.0.0.1"),
    "metadata.google.internal": ipaddress.ip_address("169.254.169.254"),
    "metadata": ipaddress.ip_address("169.254.169.254"),
    "instance-data": ipaddress.ip_address("169.254.169.254"),
}


class OutboundRefused(Exception):
    """The policy refuses this URL; the message names the reason, never the URL's path."""


class OutboundFailed(Exception):
    """The request was allowed but failed (connection, timeout, TLS); the message is safe to log."""


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    body: bytes  # at most MAX_RESPONSE_BYTES

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    networks: list[str] = settings.STEWARD_OUTBOUND_ALLOW_NETWORKS
    return [ipaddress.ip_network(network, strict=False) for network in networks]


def address_refusal(address: IPAddress) -> str | None:
    """Why the policy refuses this address, or None when Steward may connect to it."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks()):
        return None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (where cloud metadata services answer)"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private-network address"
    if not address.is_global:
        return "a reserved or non-public address"
    return None


def _literal_address(host: str) -> IPAddress | None:
    named = _NAMED_ADDRESSES.get(host.lower().rstrip("."))
    if named is not None:
        return named
    if host.lower().endswith(".localhost"):
        return _NAMED_ADDRESSES["localhost"]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _split(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or OutboundRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused("The URL is not valid.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused("Only http:// and https:// URLs are allowed.")
    if not parts.hostname:
        raise OutboundRefused("The URL has no host.")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def url_check(url: str) -> None:
    """The save-time check (no DNS lookup): scheme, and the host if it is an address or a
    well-known internal name. Raises OutboundRefused with the reason."""
    _, host, _ = _split(url)
    address = _literal_address(host)
    if address is None:
        return
    reason = address_refusal(address)
    if reason is not None:
        raise OutboundRefused(
            f"{host} is {reason}; Steward does not send requests there "
            "(STEWARD_OUTBOUND_ALLOW_NETWORKS can allow a network)."
        )


def validate_outbound_url(value: str) -> None:
    """Model and form validator for URLs Steward will send requests to."""
    if not value:
        return
    try:
        url_check(value)
    except OutboundRefused as refused:
        raise ValidationError(str(refused), code="outbound_refused") from None


def resolve_checked(host: str, port: int) -> IPAddress:
    """The address to connect to: every address the name resolves to must pass the policy, so
    that a name with one public and one internal record cannot be used half the time."""
    literal = _literal_address(host)
    if literal is not None and host.lower() in _NAMED_ADDRESSES:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            raise OutboundFailed(f"cannot resolve {host}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise OutboundFailed(f"{host} has no address")
    for address in addresses:
        reason = address_refusal(address)
        if reason is not None:
            raise OutboundRefused(f"{host} resolves to {reason} ({address}); refused.")
    return addresses[0]


def _pool(
    scheme: str, host: str, address: IPAddress, port: int, timeout_seconds: float
) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds)
    if scheme == "https":
        # Connect to the checked address; SNI and the certificate are checked against the name.
        return urllib3.HTTPSConnectionPool(
            str(address),
            port,
            timeout=timeout,
            retries=False,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            server_hostname=host,
            assert_hostname=host,
        )
    return urllib3.HTTPConnectionPool(str(address), port, timeout=timeout, retries=False, maxsize=1)


def _read_bounded(response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
    body = b""
    while len(body) < MAX_RESPONSE_BYTES and time.monotonic() < deadline:
        chunk = response.read(_CHUNK_BYTES)
        if not chunk:
            break
        body += chunk
    return body[:MAX_RESPONSE_BYTES]


def send(
    method: str,
    url: str,
    *,
    body: bytes,
    headers: dict[str, str] | None = None,
    timeout_seconds: float = TIMEOUT_SECONDS,
) -> OutboundResponse:
    """Send one request under the outbound policy (see the module docstring).

    `headers` are added to Host, Content-Type (JSON) and User-Agent, and may override the last
    two. Raises OutboundRefused (policy) or OutboundFailed (network); neither message contains
    the URL's path or query, which for a chat webhook is the secret. A 3xx answer is returned
    as it is: its Location is never followed.
    """
    scheme, host, port = _split(url)
    address = resolve_checked(host, port)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default_port = 443 if scheme == "https" else 80
    all_headers = {
        "Content-Type": "application/json",
        "User-Agent": "Steward",
        **(headers or {}),
        "Host": host if port == default_port else f"{host}:{port}",
    }
    if parts.username is not None:
        all_headers.update(
            urllib3.make_headers(basic_auth=f"{parts.username}:{parts.password or ''}")
        )
    deadline = time.monotonic() + 2 * timeout_seconds
    pool = _pool(scheme, host, address, port, timeout_seconds)
    try:
        response = pool.urlopen(
            method,
            target,
            body=body,
            headers=all_headers,
            redirect=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            content = _read_bounded(response, deadline)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as error:
        raise OutboundFailed(f"request to {host} failed: {type(error).__name__}") from None
    finally:
        pool.close()
    return OutboundResponse(status=response.status, body=content)


def post_json(url: str, payload: Any) -> OutboundResponse:
    """POST `payload` as JSON under the outbound policy (see `send`)."""
    return send("POST", url, body=json.dumps(payload).encode())
