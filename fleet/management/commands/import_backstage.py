from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet.backstage import BackstageError, backstage_documents, backstage_import


class Command(BaseCommand):
    help = (
        "Import teams (Group) and AI systems (Component, Resource, System) from Backstage "
        "catalog-info.yaml files. Idempotent: re-importing changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, help="catalog-info.yaml files")

    def handle(self, *args: Any, **options: Any) -> None:
        texts = []
        for path in options["files"]:
            try:
                texts.append((str(path), path.read_text(encoding="utf-8")))
            except OSError as error:
                raise CommandError(f"Cannot read {path}: {error.strerror}.") from error
        try:
            report = backstage_import(documents=backstage_documents(texts))
        except BackstageError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped."
        )
        for label in report.created:
            self.stdout.write(f"  created {label}")
        for label in report.updated:
            self.stdout.write(f"  updated {label}")
        for label, reason in report.skipped:
            self.stdout.write(f"  skipped {label}: {reason}")
        if report.ignored:
            kinds = ", ".join(f"{kind} ×{n}" for kind, n in sorted(report.ignored.items()))
            self.stdout.write(f"Ignored kinds: {kinds}.")
