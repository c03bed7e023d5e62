"""Fill a system's link templates (`{start}`, `{end}`, `{start_ms}`, `{end_ms}`, labels)."""

from __future__ import annotations

import string
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import quote


def link_fill(template: str, *, start: datetime, end: datetime, labels: Mapping[str, str]) -> str:
    """The URL for a time window; placeholders with no value become empty.

    Values are URL-quoted, so a label value cannot break out of the query string.
    """
    values = {
        **labels,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "start_ms": str(int(start.timestamp() * 1000)),
        "end_ms": str(int(end.timestamp() * 1000)),
    }
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(literal)
        if name is not None:
            parts.append(quote(values.get(name, ""), safe=""))
    return "".join(parts)
