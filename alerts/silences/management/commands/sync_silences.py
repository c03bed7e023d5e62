"""Read every Alertmanager silence into the ledger now (the Celery beat does it every minute)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts.integrations.alertmanager.urls import alertmanager_urls
from alerts.silences.client import AlertmanagerUnavailable
from alerts.silences.services import silences_enforce, silences_sync


class Command(BaseCommand):
    help = "Sync the silence ledger from Alertmanager (ALERTMANAGER_URL), then enforce policy."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--alertmanager-url",
            default=settings.ALERTMANAGER_URL,
            help="One URL, or several comma-separated (an HA cluster).",
        )
        parser.add_argument(
            "--no-enforce", action="store_true", help="Only sync; leave enforcement for later."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        urls = alertmanager_urls(options["alertmanager_url"])
        if not urls:
            raise CommandError("Set ALERTMANAGER_URL or pass --alertmanager-url.")
        try:
            result = silences_sync(urls=urls)
        except AlertmanagerUnavailable as error:
            raise CommandError(str(error)) from None
        self.stdout.write(result.summary())
        if options["no_enforce"]:
            return
        enforced = silences_enforce(urls=urls)
        self.stdout.write(
            f"Enforcement: {len(enforced.expired)} expired, {len(enforced.would_expire)} would "
            f"be expired (dry run), {len(enforced.failed)} failed."
        )
        for silence in enforced.expired:
            self.stdout.write(f"  expired {silence.alertmanager_id}")
        for silence in enforced.would_expire:
            self.stdout.write(f"  would expire {silence.alertmanager_id}")
        for silence_id, why in enforced.failed.items():
            self.stderr.write(f"  failed {silence_id}: {why}")
