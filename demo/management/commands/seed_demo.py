"""Seed the demo (idempotent, one transaction) and say how to log in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from alerts.models import AlertRule
from demo.seed import DEMO_ADMIN_USERNAME, DEMO_PASSWORD, demo_seed_all
from fleet.models import AISystem, Team
from fleet_coverage.models import SLO
from runbooks.models import Runbook


def _now(value: str | None) -> datetime:
    if not value:
        return timezone.now()
    moment = parse_datetime(value)
    if moment is None:
        raise CommandError(f"--now {value!r} is not an ISO datetime such as 2026-03-29T01:30Z.")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = (
        "Create a believable demo: teams, systems, alert rules, runbooks, SLOs, 8 weeks of "
        "alert history, past review decisions and 12 weeks of scorecards. Idempotent."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            help="Seed as if it were this ISO datetime (default: now); naive means TIME_ZONE.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = demo_seed_all(now=_now(options["now"]))
        summary = report.catalog
        created = ", ".join(f"{n} {what}" for what, n in summary.created.items() if n)
        if report.automation_created:
            action = "1 automation action with its audit trail"
            created = ", ".join(filter(None, [created, action]))
        if report.slos_created:
            created = ", ".join(filter(None, [created, f"{report.slos_created} SLOs"]))
        if report.history.decisions_created:
            decisions = f"{report.history.decisions_created} review decisions"
            created = ", ".join(filter(None, [created, decisions]))
        self.stdout.write(f"Created: {created or 'nothing (the demo fleet was already there)'}")
        self.stdout.write(
            f"Fleet: {Team.objects.count()} teams, {AISystem.objects.count()} AI systems, "
            f"{AlertRule.objects.count()} alert rules, {Runbook.objects.count()} runbooks, "
            f"{SLO.objects.count()} SLOs"
        )
        history = report.history
        self.stdout.write(
            f"History: {history.episodes} episodes over 8 weeks ({history.firing_now} firing "
            f"now), {report.snapshots} scorecard snapshots over 12 weeks"
        )

        self.stdout.write("")
        self.stdout.write(f"Log in at {settings.STEWARD_BASE_URL}/accounts/login/")
        if not summary.admin_created:
            self.stdout.write("(the admin user already existed: its password was left alone)")
        self.stdout.write(f"  username: {DEMO_ADMIN_USERNAME}")
        self.stdout.write(f"  password: {DEMO_PASSWORD}")
