"""Import the alert rules Prometheus has loaded (`/api/v1/rules`) into the catalog."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts.catalog.rulefiles import rules_import
from alerts.integrations.prometheus.client import PrometheusError, prometheus_rule_groups
from alerts.management.commands.import_rules import (
    consent_arguments_add,
    consent_from,
    report_write,
)


class Command(BaseCommand):
    help = "Import alert rules from Prometheus's /api/v1/rules (PROMETHEUS_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default=None, help="Prometheus URL (default PROMETHEUS_URL)")
        consent_arguments_add(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        consent = consent_from(options)
        url = options["url"] or settings.PROMETHEUS_URL
        if not url:
            raise CommandError("Set PROMETHEUS_URL (or pass --url) to sync from Prometheus.")
        try:
            groups = prometheus_rule_groups(url=url)
        except PrometheusError as exc:
            raise CommandError(str(exc)) from exc
        report_write(self, rules_import(groups=groups, origin=url, consent=consent))
