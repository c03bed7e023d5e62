from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet_coverage.scorecards.services import scorecard_snapshots_write


class Command(BaseCommand):
    help = "Store this week's coverage scorecard of every AI system (the trend reads these)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--week", help="ISO week such as 2026-W47 (default: this week).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            count = scorecard_snapshots_write(week=options["week"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Stored {count} scorecard snapshots.")
