"""Investigate links: a system's dashboard, trace and log templates filled for a firing window.

Templates look like `https://grafana.example.com/d/abc?from={start_ms}&to={end_ms}&var-model={model}`.
Placeholders: `{start}`, `{end}` (RFC 3339, UTC), `{start_ms}`, `{end_ms}` (epoch milliseconds),
`{alertname}` and any label name. Label values are URL-encoded; an unknown placeholder is empty;
a template that cannot be formatted is skipped rather than breaking the on-call page.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from fleet.models import AISystem


@dataclass(frozen=True)
class InvestigateLink:
    label: str
    url: str


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_values(start: datetime, end: datetime) -> dict[str, str]:
    return {
        "start": _rfc3339(start),
        "end": _rfc3339(end),
        "start_ms": str(int(start.timestamp() * 1000)),
        "end_ms": str(int(end.timestamp() * 1000)),
    }


def fill_link_template(
    template: str, values: Mapping[str, str], *, raw: Mapping[str, str] | None = None
) -> str | None:
    """The template with every placeholder replaced; None when it is not a usable http(s) URL.

    `values` (label values, free text) are URL-encoded; `raw` values (the window, made only of
    URL-safe characters by `window_values`) are inserted as they are, so `{start}` stays
    readable RFC 3339 for tools that parse it from the URL.
    """
    raw = raw or {}
    if not template:
        return None
    parts: list[str] = []
    try:
        for literal, field, _spec, _conversion in string.Formatter().parse(template):
            parts.append(literal)
            if field is not None:
                if field in raw:
                    parts.append(raw[field])
                else:
                    parts.append(quote(values.get(field, ""), safe=""))
    except ValueError:
        return None
    url = "".join(parts)
    # The validator enforces http(s) on save; checked again because rows can predate it.
    if not url.lower().startswith(("http://", "https://")):
        return None
    return url


def investigate_links(
    system: AISystem | None,
    *,
    start: datetime,
    end: datetime,
    labels: Mapping[str, str],
) -> list[InvestigateLink]:
    if system is None:
        return []
    window = window_values(start, end)
    candidates = [
        ("Dashboard", system.dashboard_url),
        ("Traces", system.trace_url_template),
        ("Logs", system.log_url_template),
    ]
    links = []
    for label, template in candidates:
        url = fill_link_template(template, labels, raw=window)
        if url is not None:
            links.append(InvestigateLink(label=label, url=url))
    return links
