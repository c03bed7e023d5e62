"""Optional OpenTelemetry tracing of requests and Celery tasks.

Enabled by OTEL_EXPORTER_OTLP_ENDPOINT; needs the `otel` extra (`pip install steward[otel]`).
The OpenTelemetry packages are imported only then, so a default install does not carry them;
if the variable is set but the packages are missing, Steward says so once and runs untraced.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger(__name__)

_started = False


def tracing_setup() -> bool:
    """Instrument Django and Celery once per process; True when tracing is on."""
    global _started
    endpoint: str = settings.OTEL_EXPORTER_OTLP_ENDPOINT
    if not endpoint or _started:
        return _started
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as error:
        logger.warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed (%s); "
            "tracing is off. Install it with: pip install 'steward[otel]'",
            error,
        )
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": "steward"}))
    # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT and the other OTEL_* variables itself.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    CeleryInstrumentor().instrument()
    _started = True
    logger.info("OpenTelemetry tracing to %s", endpoint)
    return True
