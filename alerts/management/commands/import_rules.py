"""Import Prometheus rule files into the catalog (mapping: alerts/catalog/rulefiles.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts.catalog.rulefiles import ImportReport, TakeoverConsent, rules_import
from alerts.lint.yamlfile import RuleFileError, rule_file_load
from fleet.models import Team


def consent_arguments_add(parser: CommandParser) -> None:
    """The takeover flags (shared by import_rules and sync_prometheus)."""
    parser.add_argument(
        "--team",
        default=None,
        metavar="SLUG",
        help="The team this import runs for: its rules may be taken by more specific ones.",
    )
    parser.add_argument(
        "--allow-takeover",
        action="store_true",
        help="Write rules that take alerts another team's rule catches today (checked source).",
    )


def consent_from(options: dict[str, Any]) -> TakeoverConsent:
    slug = options.get("team")
    team = None
    if slug:
        team = Team.objects.filter(slug=slug).first()
        if team is None:
            raise CommandError(f"--team {slug}: there is no such team.")
    return TakeoverConsent(team=team, allow_takeover=bool(options.get("allow_takeover")))


def report_write(command: BaseCommand, report: ImportReport) -> None:
    """Print an import report (shared by import_rules and sync_prometheus)."""
    out = command.stdout
    for label, items in (
        ("created", report.created),
        ("updated", report.updated),
    ):
        for where in items:
            out.write(f"  {label}: {where}")
    if report.runbook_urls:
        # Static labels literal: Prometheus' $labels holds only the series' labels.
        out.write("  runbook_url to paste (static labels written literally):")
    for where, annotation in report.runbook_urls:
        out.write(f'    {where}: runbook_url: "{annotation}"')
    for where, message in report.unmapped:
        out.write(command.style.WARNING(f"  could not map: {where}: {message}"))
    for where, message in report.refused:
        out.write(command.style.ERROR(f"  refused: {where}: {message}"))
    out.write(
        f"{len(report.created)} created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.refused)} refused, "
        f"{len(report.unmapped)} could not map, "
        f"{report.recording_skipped} recording rules skipped"
    )


class Command(BaseCommand):
    help = "Import Prometheus alert rule files (groups[].rules[]) into the catalog."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE")
        consent_arguments_add(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        consent = consent_from(options)
        total = ImportReport()
        unreadable: list[str] = []
        for name in options["files"]:
            try:
                text = Path(name).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.stderr.write(f"{name}: cannot read: {exc}")
                unreadable.append(name)
                continue
            try:
                document = rule_file_load(text, filename=name)
            except RuleFileError as error:
                total.unmapped.append((f"{name} line {error.line}", error.message))
                continue
            total.merge(
                rules_import(
                    groups=document["groups"],
                    origin=name,
                    consent=consent,
                    source_file=name,
                    text=text,
                )
            )
        report_write(self, total)
        if unreadable:
            raise CommandError(f"Could not read {len(unreadable)} file(s): {', '.join(unreadable)}")
