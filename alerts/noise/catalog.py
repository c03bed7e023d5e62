"""Catalog facts of every rule for the catalog flags, in one query."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef
from django.db.models.functions import Coalesce

from alerts.catalog.ownership import owned_condition
from alerts.models import AlertRule, Episode
from alerts.noise.flags import RuleFacts


def rule_facts(*, as_of: datetime) -> dict[int, RuleFacts]:
    """Facts per rule id. "Fired recently": an episode started in the last STEWARD_SILENT_DAYS
    before `as_of` (one probe of the (rule, starts_at) index), or one still open at `as_of`."""
    since = as_of - timedelta(days=settings.STEWARD_SILENT_DAYS)
    recent = Episode.objects.filter(rule=OuterRef("pk"), starts_at__gte=since, starts_at__lt=as_of)
    still_open = Episode.objects.filter(rule=OuterRef("pk"), ends_at__isnull=True).filter(
        starts_at__lt=as_of
    )
    rows = AlertRule.objects.annotate(
        fired_recently=Exists(recent) | Exists(still_open),
        # The owner as alerts.catalog.ownership defines it: the rule's team, else its system's.
        owner_name=Coalesce("owner_team__name", "system__owner_team__name"),
        owner_timezone=Coalesce("owner_team__timezone", "system__owner_team__timezone"),
        owned=ExpressionWrapper(owned_condition(), output_field=BooleanField()),
    ).values_list(
        "id",
        "alertname",
        "matchers_key",
        "status",
        "catalogued",
        "owner_name",
        "owner_timezone",
        "owned",
        "runbook__title",
        "runbook__review_due_at",
        "muted_at",
        "muted_until",
        "fired_recently",
    )
    facts: dict[int, RuleFacts] = {}
    for row in rows:
        (pk, alertname, key, status, catalogued, team, zone, owned) = row[:8]
        (runbook, due, muted_at, muted_until, fired_recently) = row[8:]
        facts[pk] = RuleFacts(
            rule_id=pk,
            name=f"{alertname}{{{key}}}" if key else alertname,
            status=status,
            catalogued=catalogued,
            owner_team_name=team,
            owner_team_timezone=zone,
            owner_team_has_members=bool(owned),
            runbook_title=runbook,
            runbook_review_due_at=due,
            muted_at=muted_at,
            muted_until=muted_until,
            fired_recently=bool(fired_recently),
        )
    return facts
