"""The one JSON reader for request bodies (the REST API's parser and the webhook endpoint).

`json_parse` bounds the nesting (core.limits.JSON_MAX_DEPTH) and refuses strings that no
database can store, so that a hostile body is a clear 4xx at the door instead of a
RecursionError, a UnicodeEncodeError or a database error (answered 500) further in.
"""

from __future__ import annotations

import json

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


def json_parse(body: bytes | str, *, name: str = "body") -> object:
    """The parsed body. Raises JsonRefused (too deep, unstorable text, naming the place, e.g.
    `body.alerts[0].labels.model`), or ValueError for text that is not JSON."""
    try:
        value = json.loads(body)
    except RecursionError:
        raise _too_deep() from None
    # Iterative on purpose: the point is to survive what would overflow a recursive walk.
    pending: list[tuple[object, str, int]] = [(value, name, 0)]
    while pending:
        item, where, depth = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                raise JsonBadText(f"{where} {problem}.")
        elif isinstance(item, dict | list):
            if depth >= JSON_MAX_DEPTH:
                raise _too_deep()
            if isinstance(item, list):
                pending.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(item))
                continue
            for key, child in item.items():
                problem = text_problem(key)
                if problem:
                    raise JsonBadText(f'A key of {where} {problem}: "{printable(key)}".')
                pending.append((child, f"{where}.{key}", depth + 1))
    return value
