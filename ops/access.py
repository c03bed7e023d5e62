"""Who may read /metrics (a bearer token, allowed networks, or with neither set loopback), and
who may read /readyz's error details (the same, or staff)."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest

_LOOPBACK = ("127.0.0.0/8", "::1/128")


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def _address_in(address: str, networks: list[str] | tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in networks)


def metrics_access_allowed(request: HttpRequest) -> bool:
    """Either configured condition admits the request.

    The network check uses REMOTE_ADDR, the peer that connected, never X-Forwarded-For:
    Prometheus scrapes Steward directly, and a forwarded header could be forged.
    """
    token: str = settings.STEWARD_METRICS_TOKEN
    networks: list[str] = settings.STEWARD_METRICS_ALLOWED_NETWORKS
    address = str(request.META.get("REMOTE_ADDR", ""))
    if token and hmac.compare_digest(_bearer(request).encode(), token.encode()):
        return True
    if networks:
        return _address_in(address, networks)
    if token:
        return False
    return _address_in(address, _LOOPBACK)


def readiness_details_allowed(request: HttpRequest) -> bool:
    """/readyz's error texts name the database host and name, the broker address: for staff
    and whoever may read /metrics (the container's own health check, from loopback, included)."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    return metrics_access_allowed(request)
