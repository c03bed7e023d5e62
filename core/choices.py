"""Vocabulary every layer shares: alert severities, layers and sources (stored as text)."""

from __future__ import annotations

from django.db import models


class Severity(models.TextChoices):
    PAGE = "page", "Page"
    CRITICAL = "critical", "Critical"
    WARNING = "warning", "Warning"
    TICKET = "ticket", "Ticket"
    INFO = "info", "Info"


# Severities that wake somebody up: they count as interruptions.
INTERRUPTING_SEVERITIES = (Severity.PAGE, Severity.CRITICAL)


class Layer(models.TextChoices):
    INFRA = "infra", "Infrastructure (L1)"
    ML = "ml", "ML operation (L2)"
    BUSINESS = "business", "Business outcome (L3)"


class Source(models.TextChoices):
    PROMETHEUS = "prometheus", "Prometheus / Alertmanager"
    GRAFANA = "grafana", "Grafana alerting"
    DATADOG = "datadog", "Datadog"
    WHYLABS = "whylabs", "WhyLabs"
    EVIDENTLY = "evidently", "Evidently"
    GENERIC = "generic", "Generic JSON"
    MANUAL = "manual", "Registered by hand"
