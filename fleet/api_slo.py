"""API for SLOs, their generated rule files and the coverage scorecards.

Reads: any authenticated session, or a token with read or write scope. Writes: a token with
write scope or a session, and only on objects of a team the caller may edit
(`fleet.access.can_edit_team_object`).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fleet import api_slo_schema  # noqa: F401  (registers the token auth in the schema)
from fleet.access import can_edit_team_object
from fleet.models import AISystem, Team
from fleet.scorecards import (
    Scorecard,
    fleet_score,
    scorecards_for,
    system_score_trend,
    systems_in_scope,
    team_scores,
)
from fleet.slo import SLO
from fleet.slo_rules import alertname_for
from fleet.slo_selectors import slos_with_relations
from fleet.slo_services import slo_delete, slo_save
from fleet.slo_views import slo_rules_response
from runbooks.models import Runbook


class ReadOrTeamWrite(BasePermission):
    """Token scope for the method; object writes need the owning team (or fleet admin)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if user is None or not user.is_authenticated:
            return False
        token = getattr(user, "token", None)
        needed = "read" if request.method in SAFE_METHODS else "write"
        return token is None or bool(token.allows(needed))

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return can_edit_team_object(request.user, _team_id(obj))


def _team_id(slo: SLO) -> int | None:
    return slo.owner_team_id if slo.owner_team_id is not None else slo.system.owner_team_id


class SLOSerializer(serializers.ModelSerializer[SLO]):
    system = serializers.SlugRelatedField(slug_field="slug", queryset=AISystem.objects.all())
    owner_team = serializers.SlugRelatedField(
        slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True
    )
    runbook = serializers.SlugRelatedField(
        slug_field="slug", queryset=Runbook.objects.all(), required=False, allow_null=True
    )
    alertnames = serializers.SerializerMethodField()

    class Meta:
        model = SLO
        fields = [
            "id",
            "system",
            "name",
            "slug",
            "description",
            "good_query",
            "total_query",
            "ratio_query",
            "objective",
            "window_days",
            "layer",
            "owner_team",
            "runbook",
            "alertnames",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def get_alertnames(self, slo: SLO) -> list[str]:
        return [alertname_for(slo, severity) for severity in ("page", "ticket")]


class SLOViewSet(viewsets.ModelViewSet[SLO]):
    """SLOs; `?system=<slug>` and `?team=<slug>` filter. Saving catalogues the burn alerts."""

    serializer_class = SLOSerializer
    permission_classes = [ReadOrTeamWrite]
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[SLO]:
        slos = slos_with_relations().order_by("system__slug", "slug")
        if system := self.request.query_params.get("system"):
            slos = slos.filter(system__slug=system)
        if team := self.request.query_params.get("team"):
            slos = slos.filter(owner_team__slug=team)
        return slos

    def _save(self, serializer: serializers.BaseSerializer[SLO], slo: SLO) -> None:
        data = dict(serializer.validated_data)
        system = data.get("system", getattr(slo, "system", None))
        owner = data.get("owner_team", slo.owner_team if slo.pk else None)
        # The system's team decides its SLOs; handing one to another team needs that team too.
        team_ids = {getattr(system, "owner_team_id", None)}
        if owner is not None:
            team_ids.add(owner.pk)
        if not all(can_edit_team_object(self.request.user, team_id) for team_id in team_ids):
            raise PermissionDenied("You may only change SLOs of your own team's systems.")
        try:
            serializer.instance = slo_save(slo=slo, **data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(
                error.message_dict if hasattr(error, "error_dict") else error.messages
            ) from error

    def perform_create(self, serializer: serializers.BaseSerializer[SLO]) -> None:
        self._save(serializer, SLO())

    def perform_update(self, serializer: serializers.BaseSerializer[SLO]) -> None:
        assert serializer.instance is not None  # noqa: S101 (DRF sets it for updates)
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance: SLO) -> None:
        slo_delete(slo=instance)


class TeamSLORulesView(APIView):
    """The team's generated Prometheus rule file (YAML)."""

    permission_classes = [ReadOrTeamWrite]

    @extend_schema(
        operation_id="teams_slo_rules", responses={(200, "application/yaml"): OpenApiTypes.STR}
    )
    def get(self, request: Request, slug: str) -> HttpResponse:
        return slo_rules_response(get_object_or_404(Team, slug=slug))


def _card_json(card: Scorecard) -> dict[str, Any]:
    system = card.system
    return {
        "system": system.slug,
        "name": system.name,
        "team": system.owner_team.slug if system.owner_team else None,
        "score": card.score,
        "alerts": card.rules,
        "slos": card.slos,
        "missing": [
            {"code": i.code, "text": i.text, "fix_url": i.fix_url, "fix_label": i.fix_label}
            for i in card.missing
        ],
    }


class ScorecardListView(APIView):
    """Fleet-wide and per-team scores and every system's scorecard, worst first.

    Filters: `?team=<slug>`, `?kind=<kind>`.
    """

    permission_classes = [ReadOrTeamWrite]

    @extend_schema(operation_id="scorecards_list", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request) -> Response:
        systems = systems_in_scope()
        if team := request.query_params.get("team"):
            systems = systems.filter(owner_team__slug=team)
        if kind := request.query_params.get("kind"):
            systems = systems.filter(kind=kind)
        cards = scorecards_for(systems)
        fleet = fleet_score(cards)
        return Response(
            {
                "fleet": {
                    "score": fleet.score,
                    "systems": fleet.systems,
                    "complete": fleet.complete,
                },
                "teams": [
                    {
                        "team": row.team.slug if row.team else None,
                        "score": row.score,
                        "systems": row.systems,
                        "complete": row.complete,
                    }
                    for row in team_scores(cards)
                ],
                "systems": [_card_json(card) for card in cards],
            }
        )


class ScorecardDetailView(APIView):
    """One system's scorecard with its weekly snapshot scores (last 12 weeks)."""

    permission_classes = [ReadOrTeamWrite]

    @extend_schema(operation_id="scorecards_system", responses=OpenApiTypes.OBJECT)
    def get(self, request: Request, slug: str) -> Response:
        systems = systems_in_scope().filter(slug=slug)
        cards = scorecards_for(systems)
        if not cards:
            return Response({"detail": f"No AI system {slug!r} in scope."}, status=404)
        body = _card_json(cards[0])
        body["trend"] = system_score_trend(system=cards[0].system)
        return Response(body)
