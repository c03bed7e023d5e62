"""The one JSON reader for request bodies (the REST API's parser and the webhook endpoint).

`json_parse` bounds the nesting (core.limits.JSON_MAX_DEPTH) and refuses strings that no
database can store, so that a hostile body is a clear 4xx at the door instead of a
RecursionError, a UnicodeEncodeError or a database error (answered 500) further in.
"""

from __future__ import annotations

import json
import re
from typing import Any

from core.limits import JSON_MAX_DEPTH


class JsonRefused(ValueError):
    """Valid JSON that Steward will not take; the message names the place and the rule."""


class JsonTooDeep(JsonRefused):
    pass


class JsonBadText(JsonRefused):
    pass


def text_problem(text: str) -> str | None:
    """Why a string cannot be stored, or None: PostgreSQL refuses NUL in text and JSON, and
    a lone surrogate ("\\ud800") is not Unicode that UTF-8 can encode."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None


def printable(text: str) -> str:
    """`text` itself when it can be stored and shown, else its escaped form (for messages,
    which are logged and stored too)."""
    return text if text_problem(text) is None else ascii(text)[1:-1]


def _too_deep() -> JsonTooDeep:
    return JsonTooDeep(f"The JSON is nested more than {JSON_MAX_DEPTH} levels deep.")


# The escapes that spell NUL or half a surrogate pair. A raw NUL is not valid JSON, and text
# decoded from UTF-8 holds no surrogate: a body without these escapes holds neither, and its
# strings need no look (the common case, kept cheap on the webhooks' hot path).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def json_parse(body: bytes | str, *, name: str = "body") -> object:
    """The parsed body. Raises JsonRefused (too deep; unstorable text, naming the place, e.g.
    `body.alerts[0].labels.model`), or ValueError for text that is not JSON."""
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    try:
        value = json.loads(body)
    except RecursionError:
        raise _too_deep() from None
    _check_depth(value)
    if _SUSPECT_ESCAPE.search(body):
        _check_text(value, name)
    return value


def _check_depth(value: object) -> None:
    """Level by level, containers only: iterative (the point is to survive what would
    overflow a recursive walk) and cheap."""
    level: list[dict[Any, Any] | list[Any]] = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > JSON_MAX_DEPTH:
            raise _too_deep()
        below: list[dict[Any, Any] | list[Any]] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below.extend(child for child in children if isinstance(child, dict | list))
        level = below


def _check_text(value: object, name: str) -> None:
    pending: list[tuple[object, str]] = [(value, name)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise JsonBadText(f"{where} {problem}.")
        elif isinstance(item, list):
            pending.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, dict):
            for key, child in item.items():
                problem = text_problem(key)
                if problem:
                    raise JsonBadText(f'A key of {where} {problem}: "{printable(key)}".')
                pending.append((child, f"{where}.{key}"))
