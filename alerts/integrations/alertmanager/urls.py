"""Where Steward reaches Alertmanager: `ALERTMANAGER_URL`, one URL or, for an HA cluster, several
separated by commas (every peer holds the same alerts and silences)."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings


def alertmanager_urls(value: str | Sequence[str] | None = None) -> list[str]:
    """The configured URLs (or those given), without trailing slashes or blanks, in order."""
    if value is None:
        value = settings.ALERTMANAGER_URL
    items = value.split(",") if isinstance(value, str) else list(value)
    urls: list[str] = []
    for item in items:
        url = item.strip().rstrip("/")
        if url and url not in urls:
            urls.append(url)
    return urls
