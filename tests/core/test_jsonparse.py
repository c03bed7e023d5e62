"""The one bounded JSON reader: nesting up to the limit, strings a database can store."""

from __future__ import annotations

import json

import pytest

from core.jsonparse import JsonBadText, JsonTooDeep, json_parse
from core.limits import JSON_MAX_DEPTH


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_nesting_up_to_the_limit_is_read_one_more_is_refused() -> None:
    assert json_parse(_nested(JSON_MAX_DEPTH)) is not None
    with pytest.raises(JsonTooDeep, match=f"more than {JSON_MAX_DEPTH} levels"):
        json_parse(_nested(JSON_MAX_DEPTH + 1))


def test_nesting_beyond_the_recursion_limit_is_the_same_refusal() -> None:
    with pytest.raises(JsonTooDeep):
        json_parse(_nested(100_000))


def test_escaped_surrogate_pairs_are_text_a_lone_half_is_not() -> None:
    assert json_parse(json.dumps({"emoji": "\U0001f525"})) == {"emoji": "\U0001f525"}
    with pytest.raises(JsonBadText, match=r"body.a\[1\].b contains a lone surrogate"):
        json_parse('{"a": ["ok", {"b": "x\\udc00"}]}')


def test_nul_in_a_key_is_named_escaped() -> None:
    with pytest.raises(JsonBadText, match=r'A key of body.a contains a NUL character: "k\\x00"'):
        json_parse('{"a": {"k\\u0000": 1}}')
