"""Reads for SLOs."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from fleet.models import AISystem, Team
from fleet_coverage.models import SLO


def slos_with_relations() -> QuerySet[SLO]:
    return SLO.objects.select_related("system", "owner_team", "runbook")


def slos_for_team(*, team: Team) -> QuerySet[SLO]:
    """The SLOs a team answers for: its own, and its systems' SLOs that name no other owner.

    Retired systems are left out: nobody should be paged for them.
    """
    return (
        slos_with_relations()
        .filter(Q(owner_team=team) | Q(owner_team__isnull=True, system__owner_team=team))
        .exclude(system__lifecycle=AISystem.Lifecycle.RETIRED)
        .order_by("system__slug", "slug")
    )
