"""Lint Prometheus rule files against the Steward catalog (exit 1 on violations, 2 on usage).

`--forecast --base OLD NEW` also compares what OLD and NEW would have paged over the past
days on PROMETHEUS_URL, per team, and fails (exit 1) over a team's page budget."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime

from alerts.lint.engine import lint_rule_files
from alerts.lint.output import FORMATS, render
from alerts.lint.types import LintLimitError


class Command(BaseCommand):
    help = "Lint Prometheus rule files: owner, severity, layer, summary, runbook, for:, PromQL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--format", choices=FORMATS, default="text")
        parser.add_argument(
            "--forecast",
            action="store_true",
            help="Replay each alert over the past days on PROMETHEUS_URL; warn if noisy.",
        )
        parser.add_argument(
            "--base",
            action="append",
            metavar="OLD_FILE",
            help="With --forecast: the rule file(s) before the change; prints pages and "
            "sleep interruptions per team before and after and fails over a page budget.",
        )
        parser.add_argument("--days", type=float, default=7.0, help="Forecast window (days).")
        parser.add_argument(
            "--end",
            default=None,
            help="End of the forecast window, ISO 8601 with a timezone (default: now).",
        )
        parser.add_argument(
            "--step",
            type=int,
            default=None,
            help="Evaluation step in seconds (default STEWARD_REPLAY_EVALUATION_SECONDS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["forecast"] and not settings.PROMETHEUS_URL:
            raise CommandError("--forecast needs PROMETHEUS_URL to be set.", returncode=2)
        if options["base"] and not options["forecast"]:
            raise CommandError("--base needs --forecast.", returncode=2)
        if options["days"] <= 0 or (options["step"] is not None and options["step"] < 1):
            raise CommandError("--days and --step must be positive.", returncode=2)
        end = None
        if options["end"]:
            end = parse_datetime(options["end"])
            if end is None or end.tzinfo is None:
                raise CommandError("--end is an ISO 8601 time with a timezone.", returncode=2)
        files = _read(options["files"])
        base = _read(options["base"]) if options["base"] else None
        try:
            report = lint_rule_files(
                files,
                forecast=options["forecast"],
                forecast_window=timedelta(days=options["days"]),
                forecast_step=options["step"],
                base=base,
                forecast_end=end,
            )
        except LintLimitError as error:
            raise CommandError(str(error), returncode=2) from error
        self.stdout.write(render(report, options["format"]), ending="")
        if not report.ok:
            raise SystemExit(1)


def _read(names: list[str]) -> list[tuple[str, str]]:
    files = []
    for name in names:
        try:
            files.append((name, Path(name).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"Cannot read {name}: {error}", returncode=2) from error
    return files
