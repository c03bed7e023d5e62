"""Which address a request comes from, honouring trusted proxies only when configured."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's address for login rate limiting.

    Behind STEWARD_BEHIND_PROXY, each of the STEWARD_PROXY_COUNT proxies appends the address it
    received the request from to X-Forwarded-For, so the client is that many entries from the
    right; anything further left was written by the client and could be forged.
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    if not settings.STEWARD_BEHIND_PROXY:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    count = settings.STEWARD_PROXY_COUNT
    if len(forwarded) >= count:
        return forwarded[-count]
    return remote
