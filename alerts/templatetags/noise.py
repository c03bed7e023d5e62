"""Small formatting filters for the noise pages."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.humanize import duration_text

register = template.Library()

# Flags that break the doctrine outright are red; the rest are amber.
_BAD = {"unowned", "no_runbook", "sleep_thief", "stuck", "uncatalogued", "noisy"}


# One definition of how Steward writes a duration (core.humanize), shared with the runbooks.
register.filter("duration", duration_text)


_INLINE_CODE = re.compile(r"`([^`]+)`")


@register.filter
def inline_code(text: str) -> SafeString:
    """Plain text whose `backticked` spans (as the suggestions and minutes write rule-file
    keys) show as code; everything else is escaped."""
    return mark_safe(_INLINE_CODE.sub(r"<code>\1</code>", escape(text)))  # noqa: S308 (escaped)


@register.filter
def percent(ratio: float | None) -> str:
    return "—" if ratio is None else f"{round(ratio * 100)}%"


@register.filter
def flag_class(flag: str) -> str:
    return "bad" if flag in _BAD else "warn"
