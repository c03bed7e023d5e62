"""Evaluate alert noise now, synchronously, with the same service as the Celery task.

manage.py evaluate_noise                 # the current ISO week
manage.py evaluate_noise --week 2026-W47
manage.py evaluate_noise --all           # every week that has episodes, oldest first
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts.noise.evaluation import week_evaluate
from alerts.noise.locking import EvaluationBusy
from alerts.selectors import weeks_with_episodes
from core.weeks import current_week, parse_week


class Command(BaseCommand):
    help = "Compute noise statistics and flags for an ISO week (default: the current week)."

    def add_arguments(self, parser: CommandParser) -> None:
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--week", help="ISO week such as 2026-W47.")
        group.add_argument(
            "--all", action="store_true", help="Every week with episodes, up to this week."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            weeks = weeks_with_episodes()
        else:
            weeks = [options["week"] or current_week()]
        for week in weeks:
            try:
                parse_week(week)
                evaluation = week_evaluate(week=week)
            except (ValueError, EvaluationBusy) as error:
                raise CommandError(str(error)) from error
            duration = (evaluation.finished_at - evaluation.started_at).total_seconds()  # type: ignore[operator]
            self.stdout.write(
                f"{week}: {evaluation.rules_evaluated} rules, "
                f"{evaluation.flags_raised} flags ({duration:.2f}s)"
            )
