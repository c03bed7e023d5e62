"""Rebuild past episodes from the ALERTS series (alerts/integrations/alertmanager/backfill.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from alerts.integrations.alertmanager.backfill import alerts_backfill
from core.durations import DurationError, duration_parse


def duration(text: str) -> timedelta:
    try:
        return duration_parse(text)
    except DurationError as error:
        raise CommandError(str(error)) from None


class Command(BaseCommand):
    help = "Rebuild episodes from the ALERTS series of Prometheus (PROMETHEUS_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", default="30d", help="How far back, e.g. 30d (default).")
        parser.add_argument("--step", default="60s", help="Query resolution (default 60s).")
        parser.add_argument("--until", help="End as an ISO time (default now).")
        parser.add_argument("--prometheus-url", default=settings.PROMETHEUS_URL)

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["prometheus_url"]
        if not url:
            raise CommandError("Set PROMETHEUS_URL or pass --prometheus-url.")
        until = timezone.now()
        if options["until"]:
            try:
                until = datetime.fromisoformat(options["until"])
            except ValueError:
                raise CommandError(f"--until {options['until']!r} is not an ISO time.") from None
            if until.tzinfo is None:
                raise CommandError("--until needs a time zone, e.g. 2026-11-25T10:00:00Z.")
        result = alerts_backfill(
            prometheus_url=url,
            since=until - duration(options["since"]),
            until=until,
            step=duration(options["step"]),
        )
        self.stdout.write(
            f"{result.series} series, {result.runs} runs: {result.inserted} episodes inserted, "
            f"{result.matched} already stored, {result.still_firing} still firing (left to "
            "the webhook)."
        )
