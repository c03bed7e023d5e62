"""Small formatting filters for the noise pages."""

from __future__ import annotations

from django import template

from core.humanize import duration_text

register = template.Library()

# Flags that break the doctrine outright are red; the rest are amber.
_BAD = {"unowned", "no_runbook", "sleep_thief", "stuck", "uncatalogued", "noisy"}


# One definition of how Steward writes a duration (core.humanize), shared with the runbooks.
register.filter("duration", duration_text)


@register.filter
def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{round(ratio * 100)}%"


@register.filter
def flag_class(flag: str) -> str:
    return "bad" if flag in _BAD else "warn"
