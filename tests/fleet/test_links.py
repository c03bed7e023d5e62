from __future__ import annotations

from datetime import UTC, datetime

from fleet.links import link_fill

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
END = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def test_link_fill_puts_window_and_labels_into_the_template() -> None:
    url = link_fill(
        "https://grafana.example.com/d/x?var-model={model}&from={start_ms}&to={end_ms}&e={env}",
        start=START,
        end=END,
        labels={"model": "fraud-scorer"},
    )
    start_ms, end_ms = int(START.timestamp()) * 1000, int(END.timestamp()) * 1000
    assert url == (
        f"https://grafana.example.com/d/x?var-model=fraud-scorer&from={start_ms}&to={end_ms}&e="
    )


def test_link_fill_quotes_values_and_keeps_literal_braces() -> None:
    url = link_fill(
        "https://logs.example.com/?q={{app}}&m={model}&s={start}",
        start=START,
        end=END,
        labels={"model": "a&b=c"},
    )
    assert (
        url == "https://logs.example.com/?q={app}&m=a%26b%3Dc&s=2026-11-25T10%3A00%3A00%2B00%3A00"
    )
