from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fleet.links import fill_link_template, window_values

WINDOW = window_values(
    datetime(2026, 11, 25, 3, 0, tzinfo=UTC), datetime(2026, 11, 25, 3, 30, tzinfo=UTC)
)


def test_window_values_are_rfc3339_and_epoch_milliseconds() -> None:
    assert WINDOW == {
        "start": "2026-11-25T03:00:00Z",
        "end": "2026-11-25T03:30:00Z",
        "start_ms": "1795575600000",
        "end_ms": "1795577400000",
    }


def test_labels_are_encoded_and_the_window_is_not() -> None:
    url = fill_link_template(
        "https://logs.example.com/?q={model}&from={start}&to={end_ms}",
        {"model": 'a&b "c" <d> é'},
        raw=WINDOW,
    )

    assert url == (
        "https://logs.example.com/?q=a%26b%20%22c%22%20%3Cd%3E%20%C3%A9"
        "&from=2026-11-25T03:00:00Z&to=1795577400000"
    )


def test_unknown_placeholders_become_empty() -> None:
    assert fill_link_template("https://x.example.com/?a={missing}&b={1}", {}) == (
        "https://x.example.com/?a=&b="
    )


def test_literal_braces_survive_doubling() -> None:
    url = fill_link_template('https://x.example.com/?expr={{app="{model}"}}', {"model": "m"})

    assert url == 'https://x.example.com/?expr={app="m"}'


@pytest.mark.parametrize(
    "template",
    [
        "",
        "https://x.example.com/{unclosed",
        "https://x.example.com/}",
        "{scheme}://evil",
        "javascript:{x}",
    ],
)
def test_unusable_templates_give_no_link(template: str) -> None:
    assert fill_link_template(template, {"scheme": "javascript", "x": "alert(1)"}) is None
