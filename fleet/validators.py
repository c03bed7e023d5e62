from __future__ import annotations

import string
import zoneinfo

from django.core.exceptions import ValidationError

# Placeholders a link template may use besides label names.
WINDOW_PLACEHOLDERS = frozenset({"start", "end", "start_ms", "end_ms", "alertname"})


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            "%(value)s is not a time zone of the tz database (for example Europe/Berlin or UTC).",
            params={"value": value},
        ) from None


def validate_link_template(value: str) -> None:
    """A link template is a URL with `{start}`, `{end}` and label-name placeholders."""
    try:
        fields = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
    except ValueError as exc:
        raise ValidationError(
            "This link template has unbalanced braces (%(error)s); write placeholders as "
            "{start}, {end} or {label_name}, and a literal brace as {{ or }}.",
            params={"error": exc},
        ) from None
    for name in fields:
        if not name.isidentifier():
            raise ValidationError(
                "The placeholder {%(name)s} is not a label name; use {start}, {end} or a label "
                "such as {model}.",
                params={"name": name},
            )
    if value and not value.lower().startswith(("http://", "https://")):
        raise ValidationError("A link template must start with http:// or https://.")
