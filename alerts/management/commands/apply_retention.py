"""Apply the retention settings now (the daily beat task runs the same service).

manage.py apply_retention            # trim in batches; creates the PostgreSQL partitions ahead
manage.py apply_retention --dry-run  # print what would be trimmed, change nothing
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from alerts.retention.services import retention_apply


class Command(BaseCommand):
    help = "Trim raw bodies, deliveries, episodes and feedback past their retention."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be trimmed; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = retention_apply(dry_run=options["dry_run"])
        for line in report.lines():
            self.stdout.write(line)
