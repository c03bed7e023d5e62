"""Small formatting filters for the noise pages."""

from __future__ import annotations

from django import template

register = template.Library()

# Flags that break the doctrine outright are red; the rest are amber.
_BAD = {"unowned", "no_runbook", "sleep_thief", "stuck", "uncatalogued", "noisy"}


@register.filter
def duration(seconds: float | None) -> str:
    """3725 -> "1h 2m"; under a minute in seconds; None -> "—"."""
    if seconds is None:
        return "—"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


@register.filter
def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{round(ratio * 100)}%"


@register.filter
def flag_class(flag: str) -> str:
    return "bad" if flag in _BAD else "warn"
