from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def duration(seconds: float | int | None) -> str:
    """Seconds as a short human duration: 45s, 12m, 3h 05m, 2d 4h."""
    if seconds is None:
        return "—"
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"
