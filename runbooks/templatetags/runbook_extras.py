from __future__ import annotations

from django import template

from core.humanize import duration_text

register = template.Library()

# One definition of how Steward writes a duration, shared with the alert pages.
register.filter("duration", duration_text)
