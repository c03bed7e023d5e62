"""Create an API token and print it; the plain token is the last line, shown only this once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fleet.models import Team
from tokens.models import ApiToken, Integration
from tokens.services import token_create


class Command(BaseCommand):
    help = "Create an API token (ingest, read or write). Prints the token alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="What the token is for.")
        parser.add_argument("--scope", required=True, choices=ApiToken.Scope.values)
        parser.add_argument("--team", help="Slug of the team the token is limited to.")
        parser.add_argument(
            "--integration", help="Name of the Integration (created if missing, needs a source)."
        )
        parser.add_argument("--source", default="prometheus", help="Source of a new --integration.")

    def handle(self, *args: Any, **options: Any) -> None:
        team = None
        if options["team"]:
            team = Team.objects.filter(slug=options["team"]).first()
            if team is None:
                raise CommandError(f"No team with slug {options['team']!r}.")
        integration = None
        if options["integration"]:
            integration, _ = Integration.objects.get_or_create(
                name=options["integration"], defaults={"source": options["source"]}
            )
        token, raw = token_create(
            name=options["name"], scope=options["scope"], team=team, integration=integration
        )
        self.stderr.write(f"Created token {token} (id {token.pk}). It is shown only once:")
        self.stdout.write(raw)
