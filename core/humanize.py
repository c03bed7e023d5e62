"""How Steward writes quantities for people (template filters of every app use these)."""

from __future__ import annotations


def duration_text(seconds: float | None) -> str:
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
