"""Seed the demo fleet (idempotent) and say how to log in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from alerts.demo_history import demo_history_seed
from alerts.models import AlertRule
from fleet.demo import DEMO_ADMIN_USERNAME, DEMO_PASSWORD, demo_seed
from fleet.models import AISystem, Team
from runbooks.models import Runbook


class Command(BaseCommand):
    help = "Create a believable demo fleet (teams, systems, alert rules, runbooks). Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        summary = demo_seed(now=now)
        created = ", ".join(f"{n} {what}" for what, n in summary.created.items() if n)
        self.stdout.write(f"Created: {created or 'nothing (the demo fleet was already there)'}")
        self.stdout.write(
            f"Fleet: {Team.objects.count()} teams, {AISystem.objects.count()} AI systems, "
            f"{AlertRule.objects.count()} alert rules, {Runbook.objects.count()} runbooks"
        )

        # Eight weeks of firing history, evaluated, so that every flag shows in the demo.
        self.stdout.write(f"History: {demo_history_seed(now=now)} episodes over 8 weeks")

        self.stdout.write("")
        self.stdout.write(f"Log in at {settings.STEWARD_BASE_URL}/accounts/login/")
        if not summary.admin_created:
            self.stdout.write("(the admin user already existed: its password was left alone)")
        self.stdout.write(f"  username: {DEMO_ADMIN_USERNAME}")
        self.stdout.write(f"  password: {DEMO_PASSWORD}")
