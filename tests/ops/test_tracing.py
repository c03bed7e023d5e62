from __future__ import annotations

import logging
import sys
from unittest import mock

import pytest
from django.test import override_settings

from ops import tracing


@override_settings(OTEL_EXPORTER_OTLP_ENDPOINT="")
def test_tracing_is_off_without_an_endpoint() -> None:
    assert tracing.tracing_setup() is False


@override_settings(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318")
def test_endpoint_without_opentelemetry_installed_warns_and_runs_untraced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A None entry in sys.modules makes the import fail as if the extra were not installed.
    with mock.patch.dict(sys.modules, {"opentelemetry": None}), caplog.at_level(logging.WARNING):
        assert tracing.tracing_setup() is False
    assert "OpenTelemetry is not installed" in caplog.text
    assert "steward[otel]" in caplog.text
