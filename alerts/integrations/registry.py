"""The sources Steward accepts, by the last path segment of their webhook URL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.http import HttpRequest

from alerts.ingest.services import Batch
from alerts.integrations.alertmanager import adapter as alertmanager
from alerts.integrations.datadog import adapter as datadog
from alerts.integrations.evidently import adapter as evidently
from alerts.integrations.generic import adapter as generic
from alerts.integrations.grafana import adapter as grafana
from alerts.integrations.whylabs import adapter as whylabs
from core.choices import Source
from tokens.models import ApiToken

Adapter = Callable[..., Batch]
# (request, raw body, token) -> None, or raise PayloadError(status=401) on a bad signature.
Verifier = Callable[[HttpRequest, bytes, ApiToken], None]


@dataclass(frozen=True)
class SourceSpec:
    source: str
    adapt: Adapter
    verify: Verifier | None = None


SOURCES: Mapping[str, SourceSpec] = {
    "alertmanager": SourceSpec(Source.PROMETHEUS, alertmanager.adapt),
    "grafana": SourceSpec(Source.GRAFANA, grafana.adapt, grafana.verify_signature),
    "datadog": SourceSpec(Source.DATADOG, datadog.adapt),
    "whylabs": SourceSpec(Source.WHYLABS, whylabs.adapt),
    "evidently": SourceSpec(Source.EVIDENTLY, evidently.adapt),
    "generic": SourceSpec(Source.GENERIC, generic.adapt),
}
