"""GET /api/v1/alert-rules/<id>/replay/: the replay grid of one rule as JSON."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.models import AlertRule
from alerts.replay.routing import RoutingError
from alerts.replay.views import grid_report
from api.permissions import ReadScope


class RuleReplayView(APIView):
    permission_classes = [ReadScope]

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        summary="Replay a rule's last weeks under every for/keep_firing_for on the grid",
    )
    def get(self, request: Request, pk: int) -> Response:
        rule = get_object_or_404(AlertRule.objects.select_related("owner_team"), pk=pk)
        try:
            return Response(grid_report(rule, now=timezone.now()))
        except RoutingError as error:
            return Response({"detail": str(error)}, status=400)
