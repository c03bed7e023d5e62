from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.services import ShippedRulesError, operator_runbooks_install


class Command(BaseCommand):
    help = (
        "Install the runbooks Steward ships for its own alerts (deploy/runbooks/*.md), owned by "
        "the steward-operators team, and catalog the alerts of deploy/prometheus/rules.yml."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        deploy = Path(settings.BASE_DIR) / "deploy"
        parser.add_argument("--runbooks-dir", type=Path, default=deploy / "runbooks")
        parser.add_argument("--rules", type=Path, default=deploy / "prometheus" / "rules.yml")

    def handle(self, *args: Any, **options: Any) -> None:
        runbooks_dir: Path = options["runbooks_dir"]
        rules: Path = options["rules"]
        if not runbooks_dir.is_dir():
            raise CommandError(f"{runbooks_dir} is not a directory.")
        if not rules.is_file():
            raise CommandError(f"{rules} does not exist.")
        try:
            result = operator_runbooks_install(runbooks_dir=runbooks_dir, rules_file=rules)
        except ShippedRulesError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"runbooks: {len(result.runbooks_created)} created, "
            f"{len(result.runbooks_updated)} updated; "
            f"alert rules catalogued: {', '.join(result.rules_catalogued) or 'none'}"
        )
