"""Hostile inputs: the values an attacker (or a broken sender) puts where a well-formed one goes.

Every strategy keeps the cases the hardening issue found (a raw NUL, a lone surrogate, JSON
nested a thousand deep, Go's zero time with an offset, weeks 9999-W52 and 0001-W01, negative
counts) within reach of a bounded run: they are drawn from explicit lists, not left to luck.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from hypothesis import settings
from hypothesis import strategies as st


def budget(examples: int) -> int:
    """`examples` under the "ci" profile (tests/conftest.py), scaled under the others."""
    return max(1, examples * settings.default.max_examples // 100)


# Strings a form field, a label or a query parameter is least prepared for.
HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "%00",
    "\ud800",
    "\udfff",
    "a\ud800b",
    "\ufeff",
    "\u202e",
    "\r\n",
    "\t=1+1",
    "=cmd|' /C calc'!A0",
    "💥" * 3,
    "İ",
    "ß",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../../../etc/passwd",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "x" * 300,
    "x" * 5000,
    "-1",
    "0",
    "-0",
    "1e309",
    "NaN",
    "Infinity",
    "9" * 40,
    "-" + "9" * 40,
    "2**63",
    "9223372036854775808",
    "-9223372036854775809",
    "9999-W52",
    "0001-W01",
    "2026-W00",
    "2026-W54",
    "0000-W01",
    "2026-W5",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2026-11-25T10:00:00+99:00",
    "true",
    "null",
    "[]",
    "{}",
]

HOSTILE_NUMBERS = [
    0,
    -1,
    1,
    -(2**31),
    2**31,
    2**63,
    -(2**63) - 1,
    10**30,
    -(10**30),
    1e308,
    -1e308,
    0.5,
    -0.0,
    253402300800000,  # milliseconds: year 10000
    -62135596800001,  # milliseconds: before year 1
]


# Hypothesis leaves surrogates (Cs) out of text unless asked; control and format characters
# (NUL, RTL override, BOM) are rare in its default draw.
_CONTROL_AND_SURROGATES = st.characters(categories=["Cs", "Cc", "Cf"])


def hostile_text() -> st.SearchStrategy[str]:
    """A listed hostile string, or any Unicode text including surrogates and control bytes."""
    return st.one_of(
        st.sampled_from(HOSTILE_TEXT),
        st.text(st.one_of(st.characters(), _CONTROL_AND_SURROGATES), max_size=40),
    )


# JSON nested this deep (beyond any recursion limit: Hypothesis raises it to ~2,000 in tests,
# production runs with 1,000) is written into the body by `encode` in place of the marker, so
# the document itself stays shallow for the test code.
DEEP = "\u2063deep-json\u2063"
DEEP_LEVELS = 20_000


def encode(payload: Any) -> bytes:
    """JSON as a sender writes it: lone surrogates as their \\ud800 escape (as Go or JavaScript
    write them), and the `DEEP` marker replaced by arrays and objects nested `DEEP_LEVELS` deep."""
    text = json.dumps(payload)
    deep = '{"k":[' * (DEEP_LEVELS // 2) + "1" + "]}" * (DEEP_LEVELS // 2)
    return text.replace(json.dumps(DEEP), deep).encode()


def query(params: dict[str, str]) -> str:
    """A query string as a raw HTTP client may send it: every string, even one with a lone
    surrogate (sent as its UTF-8-style bytes), percent-encoded."""
    return "&".join(
        f"{quote(key.encode('utf-8', 'surrogatepass'))}="
        f"{quote(value.encode('utf-8', 'surrogatepass'))}"
        for key, value in params.items()
    )


def hostile_json_value() -> st.SearchStrategy[Any]:
    """Any JSON value a field may receive in place of the one it expects."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(HOSTILE_NUMBERS),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text(),
    )
    return st.one_of(
        scalars,
        st.just(DEEP),
        st.recursive(
            scalars,
            lambda inner: st.one_of(
                st.lists(inner, max_size=3),
                st.dictionaries(hostile_text(), inner, max_size=3),
            ),
            max_leaves=6,
        ),
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document, the root excluded."""
    found: list[tuple[Any, ...]] = []
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        found.append((*prefix, key))
        found.extend(_paths(item, (*prefix, key)))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copy


def _delete(document: Any, path: tuple[Any, ...]) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return copy


@st.composite
def mutated(draw: st.DrawFn, document: dict[str, Any]) -> Any:
    """`document` (a valid payload) with one to three changes: a value replaced by a hostile
    one, a key removed (an alert without its fingerprint) or a hostile key added. Close enough
    to valid to get past the first check and reach the storage code."""
    result: Any = document
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(result)
        change = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if change != "add" and paths:
            path = draw(st.sampled_from(paths))
            if change == "replace":
                result = _replace(result, path, draw(hostile_json_value()))
            else:
                result = _delete(result, path)
        elif isinstance(result, dict):
            result = {**result, draw(hostile_text()): draw(hostile_json_value())}
    return result


# Raw bodies no JSON encoder would produce, by name (Hypothesis prints the name on a failure).
RAW_BODIES = {
    "empty": b"",
    "nul": b"\x00",
    "nul in a string": b'{"alerts": [], "x": "\x00"}',
    "nul after the object": b'{"alerts": []}\x00',
    "not utf-8": b"\xff\xfe\xfd",
    "not utf-8 in a string": b'{"alerts": "\xff"}',
    "arrays 1000 deep": b"[" * 1000 + b"]" * 1000,
    "objects 1000 deep": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "100000 open brackets": b"[" * 100000,
    "duplicate keys": b'{"alerts": [], "alerts": 5}',
    "huge exponent": b"1e999999",
    "lone surrogate": b'"\\ud800"',
    "lone surrogate in a key": b'{"\\ud800": 1}',
    "null": b"null",
}
