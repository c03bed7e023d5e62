"""Lint Prometheus rule files against the Steward catalog (exit 1 on violations, 2 on usage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

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
            help="Replay each alert over the past 7 days on PROMETHEUS_URL; warn if noisy.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["forecast"] and not settings.PROMETHEUS_URL:
            raise CommandError("--forecast needs PROMETHEUS_URL to be set.", returncode=2)
        files = []
        for name in options["files"]:
            path = Path(name)
            try:
                files.append((name, path.read_text(encoding="utf-8")))
            except (OSError, UnicodeDecodeError) as error:
                raise CommandError(f"Cannot read {name}: {error}", returncode=2) from error
        try:
            report = lint_rule_files(files, forecast=options["forecast"])
        except LintLimitError as error:
            raise CommandError(str(error), returncode=2) from error
        self.stdout.write(render(report, options["format"]), ending="")
        if not report.ok:
            raise SystemExit(1)
