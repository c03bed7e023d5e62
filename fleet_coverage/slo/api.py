"""API for SLOs, their generated rule files and the coverage scorecards.

Built on the catalog API's conventions (api/permissions.py): reads need a `read` or
`write` token or a logged-in user; writes a `write` token or a logged-in user allowed to edit
the owning team (`fleet.access.can_edit_team_object`); `ingest` tokens get 403. Errors use the
shared body of api/errors.py.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Model, QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.base import OwnedModelViewSet
from api.docs import READ_RULE, catalog_docs
from api.permissions import ReadOnlyCatalogAccess
from fleet.access import can_edit_team_object
from fleet.models import AISystem, Team
from fleet_coverage.models import SLO
from fleet_coverage.scorecards.selectors import (
    Scorecard,
    fleet_score,
    scorecards_for,
    system_score_trend,
    systems_in_scope,
    team_scores,
)
from fleet_coverage.slo.api_docs import (
    RULE_FILE_EXAMPLE,
    SCORECARD_EXAMPLE,
    SCORECARDS_EXAMPLE,
    SLO_EXAMPLE,
    SLO_WRITE_RULE,
)
from fleet_coverage.slo.rules import alertname_for
from fleet_coverage.slo.selectors import slos_with_relations
from fleet_coverage.slo.services import slo_delete, slo_save
from fleet_coverage.slo.views import slo_rules_response
from runbooks.models import Runbook


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


class SLOFilter(django_filters.FilterSet):
    system = django_filters.CharFilter(field_name="system__slug")
    team = django_filters.CharFilter(field_name="owner_team__slug")

    class Meta:
        model = SLO
        fields = ["system", "team", "layer"]


@catalog_docs(
    "SLO",
    SLO_EXAMPLE,
    write_rule=SLO_WRITE_RULE,
    note="`?system=<slug>`, `?team=<slug>` and `?layer=` filter.",
)
class SLOViewSet(OwnedModelViewSet):
    """SLOs. Saving one catalogues its two burn-rate alerts (fleet_coverage/slo/services.py)."""

    serializer_class = SLOSerializer
    filterset_class = SLOFilter
    ordering_fields = ["slug", "objective", "created_at"]
    # Ownership follows the system (authorize_payload below), not only the `owner_team` field;
    # the base class still checks the attached runbook (related_owned).
    team_field = None
    related_owned = ("runbook",)

    def get_queryset(self) -> QuerySet[SLO]:
        return slos_with_relations().order_by("system__slug", "slug")

    def team_id_of(self, obj: Any) -> int | None:
        # An SLO without its own owner belongs to its system's team.
        team_id: int | None = obj.owner_team_id
        if team_id is None:
            team_id = obj.system.owner_team_id
        return team_id

    def authorize_payload(self, data: dict[str, Any], instance: Model | None) -> None:
        """The system's team decides its SLOs; handing one to another team needs that one too."""
        slo = instance if isinstance(instance, SLO) else None
        system = data.get("system", slo.system if slo else None)
        owner = data["owner_team"] if "owner_team" in data else (slo.owner_team if slo else None)
        team_ids = {getattr(system, "owner_team_id", None)}
        if owner is not None:
            team_ids.add(owner.pk)
        user = self.request.user
        if not all(can_edit_team_object(user, team_id) for team_id in team_ids):
            raise PermissionDenied("You may only change SLOs of your own team's systems.")
        super().authorize_payload(data, instance)

    def _save(self, serializer: serializers.BaseSerializer[SLO], slo: SLO) -> None:
        data = dict(serializer.validated_data)
        self.authorize_payload(data, slo if slo.pk else None)
        # A django ValidationError from the model becomes the shared 400 (config/api_errors).
        serializer.instance = slo_save(slo=slo, **data)

    def perform_create(self, serializer: serializers.BaseSerializer[SLO]) -> None:
        self._save(serializer, SLO())

    def perform_update(self, serializer: serializers.BaseSerializer[SLO]) -> None:
        assert serializer.instance is not None  # noqa: S101 (DRF sets it for updates)
        self._save(serializer, serializer.instance)

    def perform_destroy(self, instance: SLO) -> None:
        slo_delete(slo=instance)


class TeamSLORulesView(APIView):
    permission_classes = [ReadOnlyCatalogAccess]

    @extend_schema(
        operation_id="teams_slo_rules",
        summary="The team's generated SLO rule file",
        description="The Prometheus rule file with the multi-window burn-rate alerts of every "
        "SLO the team owns, ready for `rule_files:` (the same file as the download on the "
        f"scorecard page). {READ_RULE}",
        responses={(200, "application/yaml"): OpenApiTypes.STR},
        examples=[
            OpenApiExample(
                "A rule file",
                value=RULE_FILE_EXAMPLE,
                response_only=True,
                media_type="application/yaml",
            )
        ],
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
    permission_classes = [ReadOnlyCatalogAccess]

    @extend_schema(
        operation_id="scorecards_list",
        summary="Coverage scorecards",
        description="The fleet-wide and per-team coverage scores and every system's scorecard, "
        "worst first, with what is missing and where to fix it. `?team=<slug>` and "
        f"`?kind=<kind>` filter the systems. {READ_RULE}",
        parameters=[
            OpenApiParameter("team", str, required=False),
            OpenApiParameter("kind", str, required=False),
        ],
        responses=OpenApiTypes.OBJECT,
        examples=[OpenApiExample("Scorecards", value=SCORECARDS_EXAMPLE, response_only=True)],
    )
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
    permission_classes = [ReadOnlyCatalogAccess]

    @extend_schema(
        operation_id="scorecards_system",
        summary="One system's scorecard",
        description="One system's scorecard with its weekly snapshot scores (last 12 weeks), "
        f"oldest first. 404 for an unknown or retired system. {READ_RULE}",
        responses=OpenApiTypes.OBJECT,
        examples=[OpenApiExample("A scorecard", value=SCORECARD_EXAMPLE, response_only=True)],
    )
    def get(self, request: Request, slug: str) -> Response:
        cards = scorecards_for(systems_in_scope().filter(slug=slug))
        if not cards:
            raise NotFound(f"No AI system {slug!r} in scope.")
        body = _card_json(cards[0])
        body["trend"] = system_score_trend(system=cards[0].system)
        return Response(body)
