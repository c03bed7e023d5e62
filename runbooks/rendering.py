"""Runbook Markdown → safe HTML: Python-Markdown first, then nh3 with explicit allow-lists.

Markdown passes raw HTML through, so sanitizing afterwards is the only safe order. nh3
(ammonia) parses the HTML like a browser would, so entity-encoded schemes (`&#106;avascript:`),
mixed case, leading whitespace and comment tricks are decoded before the URL scheme is checked
against `ALLOWED_URL_SCHEMES`. The Content-Security-Policy on runbook pages
(`runbooks.csp`) is the second layer should anything ever slip through.
"""

from __future__ import annotations

import re

import markdown
import nh3

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "hr",
    "i",
    "img",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
    *_HEADINGS,
}
# No `style`, no `on*`, no `target` (rel is set by nh3), no `id` outside headings: an `id` or
# `name` on arbitrary elements would let a runbook clobber DOM globals of the page around it.
ALLOWED_ATTRIBUTES = {
    "*": {"class", "title"},
    "a": {"href"},
    "details": {"open"},
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    "ol": {"start"},
    **{heading: {"id"} for heading in _HEADINGS},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto"}
_EXTENSIONS = ["tables", "fenced_code", "toc", "admonition", "sane_lists", "def_list", "attr_list"]
# Column alignment as an `align` attribute: the default inline `style` would be stripped.
_EXTENSION_CONFIGS = {"tables": {"use_align_attribute": True}}
_SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_\- ]{1,100}$")
_SAFE_ALIGN = {"left", "right", "center"}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Second check on the values allow-listed attributes may carry."""
    if attribute in {"class", "id"}:
        # Class names and heading anchors from Markdown are plain tokens; anything else is
        # dropped rather than escaped.
        return value if _SAFE_TOKEN.match(value) else None
    if attribute == "align":
        return value if value.lower() in _SAFE_ALIGN else None
    if attribute in {"width", "height", "colspan", "rowspan", "start"}:
        return value if value.isdigit() and len(value) <= 5 else None
    return value


def render_runbook_html(body: str) -> str:
    raw = markdown.markdown(
        body or "",
        extensions=_EXTENSIONS,
        extension_configs=_EXTENSION_CONFIGS,
        output_format="html",
    )
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
