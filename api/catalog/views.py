from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Model, Prefetch, QuerySet
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from api.base import OwnedModelViewSet
from api.catalog.serializers import AISystemSerializer, MembershipSerializer, TeamSerializer
from api.docs import catalog_docs
from api.permissions import CatalogAccess
from fleet.access import is_fleet_admin
from fleet.models import AISystem, Membership, Team

TEAM_EXAMPLE = {
    "slug": "fraud-ml",
    "name": "Fraud ML",
    "timezone": "Europe/Berlin",
    "chat_channel": "#fraud-ml-oncall",
    "email": "fraud-ml@example.com",
    "escalation_url": "https://pager.example.com/policies/fraud-ml",
    "leads": ["alice"],
}


@catalog_docs(
    "team",
    TEAM_EXAMPLE,
    write_rule="Create and delete: staff or a fleet-wide write token. Update: members of the "
    "team, its write token, staff or a fleet-wide write token. `chat_webhook_url` is write-only.",
)
class TeamViewSet(OwnedModelViewSet):
    serializer_class = TeamSerializer
    lookup_field = "slug"
    team_field = None
    filterset_fields = ["slug"]
    ordering_fields = ["name", "slug", "created_at"]

    def get_queryset(self) -> QuerySet[Team]:
        members = Membership.objects.select_related("user")
        return Team.objects.prefetch_related(Prefetch("memberships", queryset=members))

    def team_id_of(self, obj: Any) -> int | None:
        return obj.pk  # type: ignore[no-any-return]

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        if not is_fleet_admin(self.request.user):
            raise PermissionDenied("Only staff or a fleet-wide write token may create teams.")
        serializer.save()

    def perform_destroy(self, instance: Team) -> None:
        if not is_fleet_admin(self.request.user):
            raise PermissionDenied("Only staff or a fleet-wide write token may delete teams.")
        instance.delete()


def can_manage_members(user: Any, team_id: int | None) -> bool:
    """Staff and fleet-wide tokens, or a logged-in lead of that team (not a team token)."""
    if is_fleet_admin(user):
        return True
    if getattr(user, "token", None) is not None or team_id is None:
        return False
    return Membership.objects.filter(user=user, team_id=team_id, role=Membership.Role.LEAD).exists()


class MembershipAccess(CatalogAccess):
    message = "Only a lead of the team, staff or a fleet-wide write token may change members."

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return can_manage_members(request.user, obj.team_id)


class MembershipFilter(django_filters.FilterSet):
    team = django_filters.CharFilter(field_name="team__slug")
    user = django_filters.CharFilter(field_name="user__username")

    class Meta:
        model = Membership
        fields = ["team", "user", "role"]


@catalog_docs(
    "membership",
    {"id": 1, "team": "fraud-ml", "user": "alice", "role": "lead"},
    write_rule="Needs a logged-in lead of the team, staff or a fleet-wide write token; team "
    "tokens cannot change memberships.",
)
class MembershipViewSet(viewsets.ModelViewSet):  # type: ignore[type-arg]
    serializer_class = MembershipSerializer
    permission_classes = [MembershipAccess]
    filterset_class = MembershipFilter
    ordering_fields = ["joined_at", "role"]
    queryset = Membership.objects.select_related("team", "user")

    def _authorize(self, data: dict[str, Any], instance: Model | None) -> None:
        team = data.get("team")
        if team is not None and not can_manage_members(self.request.user, team.pk):
            raise PermissionDenied(f"You may not manage the members of {team.slug}.")

    def perform_create(self, serializer: serializers.BaseSerializer[Any]) -> None:
        self._authorize(dict(serializer.validated_data), None)
        serializer.save()

    def perform_update(self, serializer: serializers.BaseSerializer[Any]) -> None:
        self._authorize(dict(serializer.validated_data), serializer.instance)
        serializer.save()


class AISystemFilter(django_filters.FilterSet):
    owner_team = django_filters.CharFilter(field_name="owner_team__slug")

    class Meta:
        model = AISystem
        fields = ["owner_team", "kind", "environment", "tier", "lifecycle"]


@catalog_docs(
    "AI system",
    {
        "slug": "fraud-scorer",
        "name": "Fraud scorer",
        "kind": "model",
        "environment": "prod",
        "tier": "critical",
        "lifecycle": "active",
        "owner_team": "fraud-ml",
        "dashboard_url": "https://grafana.example.com/d/fraud?from={start}&to={end}",
    },
)
class AISystemViewSet(OwnedModelViewSet):
    serializer_class = AISystemSerializer
    lookup_field = "slug"
    filterset_class = AISystemFilter
    ordering_fields = ["name", "slug", "tier", "created_at"]
    queryset = AISystem.objects.select_related("owner_team")
