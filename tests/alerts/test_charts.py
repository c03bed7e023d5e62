from __future__ import annotations

from alerts.templatetags.charts import bar_chart, sparkline


def test_bar_chart_renders_float_values() -> None:
    svg = bar_chart([("W46", 71.5), ("W47", 80.0)], "score")
    assert svg.startswith("<svg") and "<title>W47: 80</title>" in svg


def test_sparkline_marks_the_last_point() -> None:
    svg = sparkline([10.0, 20.0], "score")
    assert "<circle" in svg and "score: 10, 20" in svg
