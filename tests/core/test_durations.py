"""The one Prometheus-duration parser (issue 13: there were four, and they disagreed)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.durations import DurationError, duration_format, duration_parse


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("5m", 300),
        ("1h30m", 5400),
        ("90s", 90),
        ("1d", 86400),
        ("2w", 1209600),
        ("1y", 31536000),
        ("500ms", 0.5),
        ("1m30s500ms", 90.5),
        (" 30d ", 2592000),
        ("0", 0),
        ("0s", 0),
    ],
)
def test_parses_the_prometheus_grammar(text: str, seconds: float) -> None:
    assert duration_parse(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "x", "5", "5 minutes", "-5m", "1.5h", "30m1h", "5mm", "m"])
def test_rejects_anything_else_with_a_clear_error(text: str) -> None:
    with pytest.raises(DurationError, match="is not a Prometheus duration such as 5m or 1h30m"):
        duration_parse(text)


def test_duration_error_is_a_value_error() -> None:
    assert issubclass(DurationError, ValueError)


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_is_the_identity(milliseconds: int) -> None:
    duration = timedelta(milliseconds=milliseconds)
    text = duration_format(duration)
    assert duration_parse(text) == duration
    assert duration_format(duration_parse(text)) == text  # one spelling per duration


def test_formats_like_prometheus() -> None:
    assert duration_format(timedelta(minutes=90)) == "1h30m"
    assert duration_format(timedelta(0)) == "0s"
    assert duration_format(timedelta(days=8, milliseconds=5)) == "1w1d5ms"
