"""Inline SVG charts, readable without JavaScript (a <title> gives the numbers on hover and to
screen readers)."""

from __future__ import annotations

from collections.abc import Sequence

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()


def _points(
    values: Sequence[float], width: int, height: int, pad: int
) -> list[tuple[float, float]]:
    top = max(values) or 1
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    return [
        (pad + i * step, height - pad - (value / top) * (height - 2 * pad))
        for i, value in enumerate(values)
    ]


@register.simple_tag
def sparkline(
    values: Sequence[float], label: str = "", width: int = 120, height: int = 28
) -> SafeString:
    """A small line of weekly values; the last point is marked."""
    values = [float(v or 0) for v in values]
    if not values:
        return format_html('<span class="muted">no data</span>')
    points = _points(values, width, height, 3)
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    last_x, last_y = points[-1]
    title = label or "values"
    numbers = ", ".join(f"{v:g}" for v in values)
    return format_html(
        '<svg class="sparkline" role="img" width="{}" height="{}" viewBox="0 0 {} {}">'
        "<title>{}: {}</title>"
        '<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="{}"/>'
        '<circle cx="{}" cy="{}" r="2.5" fill="currentColor"/></svg>',
        width,
        height,
        width,
        height,
        title,
        numbers,
        path,
        f"{last_x:.1f}",
        f"{last_y:.1f}",
    )


@register.simple_tag
def bar_chart(
    rows: Sequence[tuple[str, float]], label: str = "", width: int = 600, height: int = 160
) -> SafeString:
    """Labelled vertical bars, e.g. total fires per week over 12 weeks."""
    if not rows:
        return format_html('<p class="muted">no data</p>')
    top = max(value for _, value in rows) or 1
    pad_bottom, pad_top = 28, 16
    slot = width / len(rows)
    bars = format_html_join(
        "",
        # format_html escapes every argument into a string first, so numbers are formatted here.
        '<g><title>{}: {}</title><rect x="{}" y="{}" width="{}" height="{}" '
        'fill="currentColor" opacity="0.75"/>'
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>'
        '<text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text></g>',
        (
            (
                name,
                f"{value:g}",
                f"{i * slot + slot * 0.15:.1f}",
                f"{pad_top + (1 - value / top) * (height - pad_top - pad_bottom):.1f}",
                f"{slot * 0.7:.1f}",
                f"{(value / top) * (height - pad_top - pad_bottom):.1f}",
                f"{i * slot + slot / 2:.1f}",
                height - 10,
                name,
                f"{i * slot + slot / 2:.1f}",
                f"{pad_top - 4 + (1 - value / top) * (height - pad_top - pad_bottom):.1f}",
                f"{value:g}",
            )
            for i, (name, value) in enumerate(rows)
        ),
    )
    return format_html(
        '<svg class="chart" role="img" width="100%" viewBox="0 0 {} {}" '
        'preserveAspectRatio="xMidYMid meet"><title>{}</title>{}</svg>',
        width,
        height,
        label,
        bars,
    )
