from __future__ import annotations

from django import template

from alerts.templatetags.noise import duration

register = template.Library()

# One definition of how Steward writes a duration, shared with the alert pages.
register.filter("duration", duration)
