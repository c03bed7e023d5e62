"""Prometheus durations (`5m`, `1h30m`, `500ms`): the one parser and its inverse.

The grammar is Prometheus's own (`model.ParseDuration`): units from the largest to the
smallest, each at most once, integers only, and a bare `0`. Rule files, the lint gate, the
shipped self-alerts and the backfill command all read durations through `duration_parse`.
"""

from __future__ import annotations

import re
from datetime import timedelta

# (unit, milliseconds), largest first: the order Prometheus requires.
_UNITS = (
    ("y", 365 * 86_400_000),
    ("w", 7 * 86_400_000),
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
)
_GRAMMAR = re.compile("".join(rf"(?:(\d+){unit})?" for unit, _ in _UNITS))


class DurationError(ValueError):
    """The text is not a Prometheus duration; the message quotes it and shows the form."""


def duration_parse(text: str) -> timedelta:
    """`"1h30m"` -> 90 minutes. Raises DurationError for anything Prometheus would refuse."""
    stripped = text.strip()
    if stripped == "0":
        return timedelta(0)
    match = _GRAMMAR.fullmatch(stripped)
    if not stripped or match is None:
        raise DurationError(f"{text!r} is not a Prometheus duration such as 5m or 1h30m.")
    milliseconds = sum(
        int(count) * unit_ms
        for count, (_, unit_ms) in zip(match.groups(), _UNITS, strict=True)
        if count
    )
    return timedelta(milliseconds=milliseconds)


def duration_format(duration: timedelta) -> str:
    """The shortest Prometheus spelling: 90 minutes -> `"1h30m"`, zero -> `"0s"`."""
    remaining = duration // timedelta(milliseconds=1)
    if remaining < 0:
        raise DurationError(f"{duration} is negative; Prometheus durations are not.")
    parts = []
    for unit, unit_ms in _UNITS:
        count, remaining = divmod(remaining, unit_ms)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"
